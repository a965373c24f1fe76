import Foundation
public import SluiceCore
import SluiceML

/// `features.ingest`: writes the rows of a CSV file into a feature group, creating the group on first use.
///
/// Inputs: `Features` (a CSV file with a header, or a folder holding one), `FeatureGroup` (the group's name).
/// Options (or inputs): `record_identifier` (default `id`), `event_time` (default `event_time`), `online_store`
/// (default true). Column types are inferred: whole numbers → Integral, other numbers → Fractional, else String;
/// empty cells are absent from the record. Records identical to stored ones are skipped, so a re-run is harmless.
/// Outputs: `FeatureGroup`, `RecordCount` (rows in the file), `Written` (records new to the store).
public struct FeatureIngestStep: BuiltinStep {
    let store: any FeatureStore

    /// A step ingesting into `store`.
    public init(store: any FeatureStore) { self.store = store }

    public var name: String { "features.ingest" }
    public var needsWorkDirectory: Bool { false }

    public func run(_ context: BuiltinStepContext) async throws -> [String: JSONValue] {
        let args = StepArguments(context)
        let groupName = try args.string("FeatureGroup") ?? args.string("feature_group") ?? ""
        guard !groupName.isEmpty else {
            throw args.failure(
                "input 'FeatureGroup' is required: the feature group's name, e.g. mlops_credit_cards_risk")
        }
        let identifier = try args.string("record_identifier") ?? "id"
        let eventTime = try args.string("event_time") ?? "event_time"
        let online = try args.bool("online_store") ?? true
        let path = try args.dataFile("Features")
        var options = CSVOptions()
        options.types = [identifier: .text, eventTime: .text]
        let read = Result { () throws(MLError) in try CSVReader.read(path: path, options: options) }
        if case .failure(let error) = read, error.kind == .missingColumn {
            throw args.failure(
                "\(error); set options 'record_identifier' (now '\(identifier)') and 'event_time' (now '\(eventTime)') "
                    + "to columns of the file")
        }
        let frame = try args.wrap { () throws(MLError) in try read.get() }

        let definitions = zip(frame.names, frame.columns).map { name, column in
            FeatureDefinition(name: name, type: Self.type(of: column))
        }
        let ids = Self.texts(frame.columns[frame.names.firstIndex(of: identifier)!])
        let times = Self.texts(frame.columns[frame.names.firstIndex(of: eventTime)!])
        var records: [FeatureRecord] = []
        records.reserveCapacity(frame.rowCount)
        for row in 0..<frame.rowCount {
            guard let id = ids[row], !id.isEmpty else {
                throw args.failure("\(path) row \(row + 2), column '\(identifier)': the record identifier is empty")
            }
            guard let time = times[row], !time.isEmpty else {
                throw args.failure("\(path) row \(row + 2), column '\(eventTime)': the event time is empty")
            }
            var features: [String: JSONValue] = [:]
            for (index, definition) in definitions.enumerated() {
                if let value = Self.value(frame.columns[index], row: row, type: definition.type) {
                    features[definition.name] = value
                }
            }
            records.append(FeatureRecord(recordID: id, eventTime: time, features: features))
        }

        let now = Date().timeIntervalSince1970
        let written: Int
        do {
            _ = try store.createFeatureGroup(
                FeatureGroup(
                    name: groupName, recordIdentifier: identifier, eventTime: eventTime, features: definitions,
                    onlineStore: online, createdAt: now))
            written = try store.putFeatureRecords(group: groupName, records: records, now: now)
        } catch let error as FeatureStoreError {
            throw args.failure(error.description)
        }
        context.log("ingested \(records.count) records into feature group \(groupName) (\(written) new)")
        return [
            "FeatureGroup": .string(groupName), "RecordCount": .int(records.count), "Written": .int(written),
        ]
    }

    static func type(of column: Column) -> FeatureType {
        guard let numbers = column.numbers else { return .string }
        let whole = numbers.allSatisfy { $0.isNaN || ($0 == $0.rounded() && abs($0) < 9.0e15) }
        return whole ? .integral : .fractional
    }

    static func texts(_ column: Column) -> [String?] {
        switch column {
        case .text(let cells): cells
        case .numeric(let numbers): numbers.map { $0.isNaN ? nil : CSVWriter.formatCell($0) }
        }
    }

    static func value(_ column: Column, row: Int, type: FeatureType) -> JSONValue? {
        switch column {
        case .text(let cells):
            return cells[row].map(JSONValue.string)
        case .numeric(let numbers):
            let number = numbers[row]
            if number.isNaN { return nil }
            return type == .integral ? .int(Int(number)) : .double(number)
        }
    }
}

/// The built-ins that need the feature store.
public func featureBuiltinSteps(store: any FeatureStore) -> [any BuiltinStep] {
    [FeatureIngestStep(store: store)]
}
