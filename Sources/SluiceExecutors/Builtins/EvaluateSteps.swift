import Foundation
import SluiceCore
import SluiceML

/// `evaluate`: scores a model on a test CSV and writes `evaluation.json` in SageMaker's shape.
///
/// Inputs: `model`, `test` (raw rows: the model applies its saved transforms). Options: `kind`
/// regression | binary | multiclass (default: binary for logistic and `binary:logistic` models, multiclass for
/// multiclass models, whose report is `multiclass_classification_metrics`), `threshold` (0.5), `format` sagemaker (default) | w3 (`model-metrics.json` keys).
/// Outputs: `report` (file path) and `metrics` (the report as JSON, for conditions like
/// `regression_metrics.r2.value`).
struct EvaluateStep: ArgumentStep {
    let name = "evaluate"

    func run(_ args: StepArguments) async throws -> [String: JSONValue] {
        let model = try loadModel(args)
        let frame = try args.frame("test")
        let label = try args.string("label") ?? model.label ?? frame.names.last ?? ""
        let y = try args.wrap { () throws(MLError) in try frame.numbers(label) }
        let predictions = try args.wrap { () throws(MLError) in try model.predict(frame) }
        let binaryModel =
            model.algorithm == "logistic" || model.parameters["task"] == "classification"
            || (model.algorithm == "gbdt" && model.gbdt.map { $0.objective != "reg:squarederror" } ?? false)
        var kind = try args.string("kind") ?? (binaryModel ? "binary" : "regression")
        if model.multiclass != nil { kind = "multiclass" }  // its predictions are class labels
        let threshold = try args.number("threshold") ?? 0.5
        let format = try args.string("format") ?? "sagemaker"
        if format == "w3" {
            let report = Metrics.w3Report(y, predictions, threshold: threshold)
            let path = try args.writeJSON(report, to: "model-metrics.json")
            return ["report": .string(path), "metrics": .object(report.mapValues { .double($0) })]
        }
        let report: [String: [String: [String: Double]]]
        switch kind {
        case "regression": report = Metrics.regressionReport(y, predictions)
        case "binary": report = Metrics.binaryReport(y, predictions, threshold: threshold)
        case "multiclass": report = Metrics.multiclassReport(y, predictions)
        default: throw args.failure("'kind' must be regression, binary or multiclass, got '\(kind)'")
        }
        let path = try args.writeJSON(report, to: "evaluation.json")
        return ["report": .string(path), "metrics": JSONValue(report)]
    }
}

func loadModel(_ args: StepArguments) throws -> ModelArtifact {
    var path = try args.requiredString("model")
    var isFolder: ObjCBool = false
    if FileManager.default.fileExists(atPath: path, isDirectory: &isFolder), isFolder.boolValue {
        path += "/model.json"
    }
    return try args.wrap { () throws(MLError) in try ModelArtifact.load(path: path) }
}

/// `predict.batch`: a model over one CSV file or every CSV file under a folder → `<file>.out` (one prediction per
/// line).
///
/// Inputs: `model`, `input` (a file or a folder), `output_folder` (where the `.out` files go; default the step's
/// own folder). Options: `input_filter` — `$[i]` or `$[i,j,…]` picks columns by
/// 0-based index before predicting (W1 uses `$[0]`); files without header take the model's input column names;
/// `chunk_rows` (65536) — rows read and predicted at a time, so files may be larger than memory.
/// Outputs: `output` (folder), `files`, `rows`.
struct PredictBatchStep: ArgumentStep {
    let name = "predict.batch"

    func run(_ args: StepArguments) async throws -> [String: JSONValue] {
        let model = try loadModel(args)
        var input = try args.requiredString("input")
        let outputFolder = try args.string("output_folder") ?? args.output("output")
        let filter = try args.string("input_filter").map { try parseFilter($0, args) }
        let chunkRows = try args.chunkRows()
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: input, isDirectory: &isFolder) else {
            throw args.failure("input 'input': \(input) does not exist; give a CSV file or a folder of them")
        }
        let relatives: [String]
        if isFolder.boolValue {
            let enumerator = FileManager.default.enumerator(atPath: input)
            relatives = (enumerator?.allObjects as? [String] ?? []).filter { $0.hasSuffix(".csv") }.sorted()
        } else {
            relatives = [(input as NSString).lastPathComponent]
            input = (input as NSString).deletingLastPathComponent
        }
        try FileManager.default.createDirectory(atPath: outputFolder, withIntermediateDirectories: true)
        var files = 0
        var rows = 0
        for relative in relatives {
            let path = input + "/" + relative
            let target = outputFolder + "/" + relative + ".out"
            try FileManager.default.createDirectory(
                atPath: (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            guard FileManager.default.createFile(atPath: target, contents: nil),
                let output = FileHandle(forWritingAtPath: target)
            else { throw args.failure("cannot create \(target); check that the output folder is writable") }
            defer { try? output.close() }
            // Chunks of rows, so a file may be larger than memory.
            let reader = try args.wrap { () throws(MLError) in try CSVChunkReader(path: path, chunkRows: chunkRows) }
            while var frame = try args.wrap({ () throws(MLError) in try reader.next() }) {
                if let filter {
                    if let bad = filter.first(where: { $0 >= frame.names.count }) {
                        throw args.failure(
                            "\(path): input_filter picks column \(bad) but the file has \(frame.names.count)")
                    }
                    frame = Frame(
                        names: filter.map { frame.names[$0] }, columns: filter.map { frame.columns[$0] }, source: path)
                }
                frame = renameIfHeaderless(frame, model)
                let predictions = try args.wrap { () throws(MLError) in try model.predict(frame) }
                var text = ""
                for prediction in predictions { text += "\(prediction)\n" }
                try output.write(contentsOf: Data(text.utf8))
                rows += predictions.count
            }
            files += 1
        }
        return ["output": .string(outputFolder), "files": .int(files), "rows": .int(rows)]
    }

    private func parseFilter(_ text: String, _ args: StepArguments) throws -> [Int] {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard trimmed.hasPrefix("$["), trimmed.hasSuffix("]") else {
            throw args.failure("input_filter '\(text)' must look like $[0] or $[0,2]")
        }
        let inner = trimmed.dropFirst(2).dropLast()
        let indices = inner.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !indices.isEmpty, indices.count == inner.split(separator: ",").count else {
            throw args.failure("input_filter '\(text)' must list 0-based column indices, e.g. $[0]")
        }
        return indices
    }

    /// A file without a header gets generated names; give it the model's input columns when the counts match.
    private func renameIfHeaderless(_ frame: Frame, _ model: ModelArtifact) -> Frame {
        var frame = frame
        if frame.names.allSatisfy({ $0.hasPrefix("column_") }) || frame.names == model.inputColumns.map({ _ in "x" }) {
            if frame.names.count == model.inputColumns.count { frame.names = model.inputColumns }
        } else if frame.names.count == model.inputColumns.count, !Set(model.inputColumns).isSubset(of: frame.names) {
            frame.names = model.inputColumns
        }
        return frame
    }
}
