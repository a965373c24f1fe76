import Foundation
import SluiceCore
import SluiceML

/// `train.sagemaker.xgboost`: SageMaker's built-in XGBoost, run natively (a `SageMakerTraining` module whose
/// `ImageName` is an XGBoost image and that has no implementation of its own).
///
/// Inputs: the training channel (`train`, `training` or `Training Data`) and optionally `validation`: a CSV file,
/// or a folder holding `train.csv` (and `validation.csv`) or one CSV file; the label is the first column, as
/// SageMaker's XGBoost reads CSV. `HyperParameters`: XGBoost's names and values, numbers possibly as strings.
/// Outputs: `model` (a folder with Sluice's `model.json` and XGBoost's `xgboost-model.json`), also under every
/// output the module declares that the step does not otherwise produce (e.g. `ModelUri`); `trees`;
/// `train_<eval_metric>` and, with validation data, `validation_<eval_metric>`.
struct SageMakerXGBoostStep: ArgumentStep {
    let name = SageMakerAlgorithm.xgboost.builtinStep
    static let trainChannels = ["train", "training", "Training Data"]
    static let validationChannels = ["validation", "Validation Data"]

    func run(_ args: StepArguments) async throws -> [String: JSONValue] {
        let hyperparameters = try Self.hyperparameters(args)
        guard let trainInput = Self.trainChannels.first(where: { args.value($0).flatMap(\.string) != nil }) else {
            throw args.failure(
                "no training data: bind one of the inputs \(Self.trainChannels.map { "'\($0)'" }.joined(separator: ", "))"
            )
        }
        let trainFolder = try args.requiredString(trainInput)
        let trainPath = try Self.channelFile(trainFolder, preferring: "train", input: trainInput, args)
        var validationPath: String?
        if let input = Self.validationChannels.first(where: { args.value($0).flatMap(\.string) != nil }) {
            validationPath = try Self.channelFile(
                try args.requiredString(input), preferring: "validation", input: input, args)
        } else if FileManager.default.fileExists(atPath: trainFolder + "/validation.csv") {
            validationPath = trainFolder + "/validation.csv"
        }
        let (label, features, x, y) = try Self.labelFirst(trainPath, args)
        let validation = try validationPath.map { path -> (x: Matrix, y: [Double]) in
            let (_, _, vx, vy) = try Self.labelFirst(path, args)
            guard vx.cols == x.cols else {
                throw args.failure("\(path) has \(vx.cols + 1) columns but the training data has \(x.cols + 1)")
            }
            return (vx, vy)
        }
        let result = try args.wrap { () throws(MLError) in
            try XGBoostTraining.fit(x, y, hyperparameters: hyperparameters, validation: validation)
        }
        let folder = args.output("model")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try Data(result.xgboostJSON).write(to: URL(fileURLWithPath: folder + "/xgboost-model.json"))
        var artifact = ModelArtifact(
            inputColumns: features, features: features, label: label, transforms: [], algorithm: "gbdt",
            gbdt: result.model, parameters: hyperparameters, training: .init(rows: x.rows, trainedAt: isoNow()))
        artifact.multiclass = result.multiclass
        var outputs: [String: JSONValue] = ["model": .string(folder)]
        let trainMetric = result.evaluate(x, y)
        artifact.training.metrics["train_" + result.evalMetric] = trainMetric
        outputs["train_" + result.evalMetric] = .double(trainMetric)
        if let validation {
            let metric = result.evaluate(validation.x, validation.y)
            artifact.training.metrics["validation_" + result.evalMetric] = metric
            outputs["validation_" + result.evalMetric] = .double(metric)
        }
        try args.wrap { () throws(MLError) in try artifact.save(to: folder + "/model.json") }
        let trees = result.model?.trees.count ?? result.multiclass?.perClass?.reduce(0) { $0 + $1.trees.count } ?? 0
        outputs["trees"] = .int(trees)
        for output in args.context.declaredOutputs where outputs[output] == nil { outputs[output] = .string(folder) }
        return outputs
    }

    /// `HyperParameters` as strings, each a name SageMaker's XGBoost accepts.
    static func hyperparameters(_ args: StepArguments) throws -> [String: String] {
        guard let value = args.value("HyperParameters") ?? args.value("hyperparameters"), value != .null else {
            return [:]
        }
        guard let object = value.object else {
            throw args.failure("'HyperParameters' must be a mapping of names to values, got \(value.typeName)")
        }
        let accepted = SageMakerAlgorithm.xgboost.hyperparameters
        var out: [String: String] = [:]
        for (key, value) in object {
            guard accepted.contains(key) else {
                let hint = closestMatch(to: key, in: accepted).map { "; did you mean '\($0)'?" } ?? ""
                throw args.failure(
                    "hyperparameter '\(key)' is not one SageMaker's built-in XGBoost accepts\(hint) "
                        + "(accepted: \(accepted.joined(separator: ", ")))")
            }
            guard let text = value.string ?? value.number.map(CSVWriter.formatCell) ?? value.bool.map(String.init)
            else { throw args.failure("hyperparameter '\(key)' must be a string or a number, got \(value.typeName)") }
            out[key] = text
        }
        return out
    }

    /// The CSV file of a channel: the path itself, or in a folder `<preferred>.csv`, `<preferred>/` or its only CSV.
    static func channelFile(_ path: String, preferring name: String, input: String, _ args: StepArguments) throws
        -> String
    {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else {
            throw args.failure("input '\(input)': \(path) does not exist")
        }
        guard isFolder.boolValue else { return path }
        if FileManager.default.fileExists(atPath: path + "/\(name).csv") { return path + "/\(name).csv" }
        var folder = path
        if FileManager.default.fileExists(atPath: path + "/" + name, isDirectory: &isFolder), isFolder.boolValue {
            folder = path + "/" + name
        }
        let files = ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).filter {
            $0.hasSuffix(".csv")
        }
        guard files.count == 1 else {
            throw args.failure(
                "input '\(input)': \(folder) holds \(files.count) CSV files and no \(name).csv; point at one file")
        }
        return folder + "/" + files[0]
    }

    /// Features and label of a CSV file whose first column is the label (with or without a header row).
    static func labelFirst(_ path: String, _ args: StepArguments) throws
        -> (label: String, features: [String], x: Matrix, y: [Double])
    {
        let frame = try args.wrap { () throws(MLError) in try CSVReader.read(path: path) }
        guard frame.names.count >= 2 else {
            throw args.failure(
                "\(path) has \(frame.names.count) column(s); SageMaker's XGBoost reads the label from the first "
                    + "column and features from the others")
        }
        let features = Array(frame.names.dropFirst())
        let x = try args.wrap { () throws(MLError) in try frame.matrix(features) }
        let y = try args.wrap { () throws(MLError) in try frame.numbers(frame.names[0]) }
        if let row = y.firstIndex(where: { $0.isNaN }) {
            throw args.failure("\(path), data row \(row + 1), column 1: the label is missing")
        }
        return (frame.names[0], features, x, y)
    }
}
