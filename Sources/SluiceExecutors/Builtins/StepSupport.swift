import Foundation
import SluiceCore
import SluiceML

/// Every built-in ML step, for registration with the engine's built-in executor.
public let mlBuiltinSteps: [any BuiltinStep] = [
    DataValidateStep(), DataSplitStep(), DataTransformStep(), DataFeaturesStep(), TrainLinearStep(),
    TrainLogisticStep(), TrainGBDTStep(), TrainRandomForestStep(),
    TrainMLPStep(), EvaluateStep(), PredictBatchStep(), SageMakerXGBoostStep(),
]

/// A built-in step that reads its inputs and options through `StepArguments` (all ML steps here but `train.mlp`,
/// which builds its own with SageMaker's hyperparameters merged in).
protocol ArgumentStep: BuiltinStep {
    func run(_ args: StepArguments) async throws -> [String: JSONValue]
}

extension ArgumentStep {
    func run(_ context: BuiltinStepContext) async throws -> [String: JSONValue] {
        try await run(StepArguments(context))
    }
}

/// Typed access to a step's inputs and options, failing with a message that names the field.
struct StepArguments {
    let context: BuiltinStepContext

    init(_ context: BuiltinStepContext) { self.context = context }

    var step: String { context.stepName }

    /// The input of this name, falling back to the option of the same name.
    func value(_ name: String) -> JSONValue? { context.value(name) }

    func failure(_ message: String) -> StepFailure {
        StepFailure(ErrorName.taskFailed, cause: "step '\(step)': \(message)")
    }

    func string(_ name: String) throws -> String? {
        guard let value = context.value(name), value != .null else { return nil }
        if let text = value.string { return text }
        if let number = value.number { return CSVWriter.formatCell(number) }
        if let flag = value.bool { return String(flag) }
        throw failure("'\(name)' must be a string, got \(value.typeName)")
    }

    func requiredString(_ name: String) throws -> String {
        guard let value = try string(name) else { throw failure("'\(name)' is required") }
        return value
    }

    /// A number; strings holding numbers are accepted (SageMaker-style hyperparameters arrive as strings).
    func number(_ name: String) throws -> Double? {
        guard let value = context.value(name), value != .null else { return nil }
        if let number = value.number { return number }
        if let text = value.string, let number = parseNumber(text) { return number }
        throw failure("'\(name)' must be a number, got \(value.typeName)")
    }

    /// The `chunk_rows` option of the streaming steps (default 65,536 rows).
    func chunkRows() throws -> Int {
        guard let value = try number("chunk_rows") else { return 65_536 }
        guard value >= 1, value == value.rounded(), value <= 1e9 else {
            throw failure("'chunk_rows' must be a whole number of rows ≥ 1, got \(value)")
        }
        return Int(value)
    }

    func bool(_ name: String) throws -> Bool? {
        guard let value = context.value(name), value != .null else { return nil }
        if let flag = value.bool { return flag }
        if let text = value.string?.lowercased(), ["true", "false"].contains(text) { return text == "true" }
        throw failure("'\(name)' must be true or false, got \(value.typeName)")
    }

    func strings(_ name: String) throws -> [String]? {
        guard let value = context.value(name), value != .null else { return nil }
        if let text = value.string {
            return text.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }
        }
        guard let items = value.array else { throw failure("'\(name)' must be a list of strings") }
        return try items.map { item in
            guard let text = item.string else { throw failure("'\(name)' must be a list of strings") }
            return text
        }
    }

    func numbers(_ name: String) throws -> [Double]? {
        guard let value = context.value(name), value != .null else { return nil }
        guard let items = value.array else {
            if let n = value.number { return [n] }
            throw failure("'\(name)' must be a list of numbers")
        }
        return try items.map { item in
            guard let n = item.number ?? item.string.flatMap(parseNumber) else {
                throw failure("'\(name)' must be a list of numbers")
            }
            return n
        }
    }

    /// A data file: the path itself, or the only `.csv` file inside a folder.
    func dataFile(_ name: String) throws -> String {
        let path = try requiredString(name)
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else {
            throw failure("input '\(name)': \(path) does not exist")
        }
        guard isFolder.boolValue else { return path }
        let files =
            (try? FileManager.default.contentsOfDirectory(atPath: path))?.filter {
                $0.hasSuffix(".csv")
            }.sorted() ?? []
        guard files.count == 1 else {
            throw failure(
                "input '\(name)': folder \(path) holds \(files.count) CSV files; point at one file")
        }
        return path + "/" + files[0]
    }

    /// Reads a CSV input into a frame.
    func frame(_ name: String) throws -> Frame {
        let path = try dataFile(name)
        var options = CSVOptions()
        if let header = try bool("header") { options.header = header }
        if let names = try strings("column_names") { options.names = names }
        return try wrap { () throws(MLError) in try CSVReader.read(path: path, options: options) }
    }

    /// Turns a data error into a step failure with the error's location.
    func wrap<T>(_ body: () throws(MLError) -> T) throws -> T {
        do {
            return try body()
        } catch {
            let name =
                error.kind == .notNumeric || error.kind == .raggedRow ? "Sluice.SchemaViolation" : ErrorName.taskFailed
            throw StepFailure(name, cause: "step '\(step)': \(error)")
        }
    }

    func output(_ file: String) -> String { context.workDirectory + "/" + file }

    func write(_ text: String, to file: String) throws -> String {
        let path = output(file)
        try FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    func writeJSON<T: Encodable>(_ value: T, to file: String) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let data = try encoder.encode(value)
        return try write(String(decoding: data, as: UTF8.self), to: file)
    }

    /// Label (option `label`, default: last column) and features (option `features`, default: the other
    /// numeric columns).
    func labelAndFeatures(_ frame: Frame) throws -> (label: String, features: [String]) {
        let label = try string("label") ?? frame.names.last ?? ""
        _ = try wrap { () throws(MLError) in try frame.index(of: label) }
        let features =
            try strings("features")
            ?? frame.names.enumerated().filter { $0.element != label && frame.columns[$0.offset].numbers != nil }.map(
                \.element)
        guard !features.isEmpty else { throw failure("no numeric feature columns besides the label '\(label)'") }
        return (label, features)
    }
}

func isoNow() -> String {
    let formatter = ISO8601DateFormatter()
    return formatter.string(from: Date())
}

extension JSONValue {
    /// A JSON value from a nested metric dictionary.
    init(_ nested: [String: [String: [String: Double]]]) {
        self = .object(nested.mapValues { .object($0.mapValues { .object($0.mapValues { .double($0) }) }) })
    }
}
