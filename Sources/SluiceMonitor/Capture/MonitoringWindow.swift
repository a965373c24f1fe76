public import Foundation
public import SluiceML

/// The inferences captured in a time window, and what the monitor makes of them against a baseline.
public struct MonitoringWindow: Sendable {
    /// Seconds since 1970, inclusive.
    public var start: Double
    /// Seconds since 1970, exclusive.
    public var end: Double
    /// The captured inferences whose time falls in the window, in file order.
    public private(set) var inferences: [CapturedInference] = []
    /// Capture lines that could not be read, as `file:line: message`.
    public private(set) var problems: [String] = []

    public init(start: Double, end: Double) {
        self.start = start
        self.end = end
    }

    /// Adds the inferences of one capture file that fall in the window.
    public mutating func add(captureFile bytes: Data, name: String) {
        let (parsed, errors) = CapturedTraffic.parse(bytes)
        problems += errors.map { "\(name):\($0.line): \($0.message)" }
        for inference in parsed {
            guard let time = Self.seconds(iso8601: inference.inferenceTime) else {
                problems.append("\(name): inference \(inference.inferenceId) has no readable inferenceTime")
                continue
            }
            if time >= start && time < end { inferences.append(inference) }
        }
    }

    /// Checks the window's requests against a baseline.
    /// - Parameters:
    ///   - features: the baseline's features, in request order.
    ///   - constraints: the baseline's `constraints.json`.
    ///   - reference: the baseline's data.
    public func report(features: [String], constraints: MonitoringConstraints, reference: Frame) -> MonitoringReport {
        ConstraintChecker.check(
            current: CapturedTraffic.frame(inferences, featureNames: features), constraints: constraints,
            reference: reference)
    }

    /// Seconds since 1970 of `yyyy-mm-ddThh:mm:ss[.fff]Z`.
    public static func seconds(iso8601 text: String) -> Double? {
        let bytes = Array(text.utf8)
        guard bytes.count >= 20, bytes[4] == UInt8(ascii: "-"), bytes[10] == UInt8(ascii: "T"),
            bytes.last == UInt8(ascii: "Z")
        else { return nil }
        func number(_ range: Range<Int>) -> Int? {
            var value = 0
            for byte in bytes[range] {
                guard byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") else { return nil }
                value = value * 10 + Int(byte - UInt8(ascii: "0"))
            }
            return value
        }
        guard let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
            let hour = number(11..<13), let minute = number(14..<16), let second = number(17..<19)
        else { return nil }
        var fraction = 0.0
        if bytes.count > 21 && bytes[19] == UInt8(ascii: ".") {
            guard let digits = number(20..<(bytes.count - 1)) else { return nil }
            fraction = Double(digits) / pow(10, Double(bytes.count - 21))
        }
        // Days from the civil date (Howard Hinnant's algorithm).
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        let days = era * 146_097 + dayOfEra - 719_468
        return Double(days * 86_400 + hour * 3600 + minute * 60 + second) + fraction
    }
}
