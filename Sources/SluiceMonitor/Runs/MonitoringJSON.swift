public import Foundation
public import SluiceCore

/// How the monitor writes its files (`statistics.json`, `constraint_violations.json`, reports): pretty, with sorted
/// keys, and non-finite numbers as Model Monitor's strings.
public enum MonitoringJSON {
    public static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(
            positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        return encoder
    }()
}

extension QualitySettings {
    /// The settings kept with a schedule (`MonitorScheduleRecord.quality`); nil when they do not decode.
    public init?(stored: JSONValue) {
        guard let settings = try? JSONDecoder().decode(Self.self, from: Data(stored.canonicalJSON.utf8)) else {
            return nil
        }
        self = settings
    }

    /// The settings as a schedule keeps them.
    public var stored: JSONValue {
        get throws { try JSONDecoder().decode(JSONValue.self, from: JSONEncoder().encode(self)) }
    }
}
