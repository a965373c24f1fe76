import Foundation
import SluiceCore
import SluiceML

/// Reads the training frame, applies a `transforms` file from `data.transform` when given, and returns what
/// every trainer needs.
struct TrainingData {
    var inputColumns: [String]
    var transforms: [FittedTransform]
    var label: String
    var features: [String]
    var x: Matrix
    var y: [Double]
    var validation: (x: Matrix, y: [Double])?

    /// `normalizeRows`: L2-normalise the feature columns of every row, a transform saved with the model.
    init(_ args: StepArguments, normalizeRows: Bool = false) throws {
        // SageMaker names the training channel `training`; Sluice's steps call it `train`.
        var frame = try args.frame(context(args, "train") || !context(args, "training") ? "train" : "training")
        inputColumns = frame.names
        transforms = []
        var fromFile = false
        if let path = try args.string("transforms") {
            fromFile = true
            let data = try Data(contentsOf: URL(fileURLWithPath: path))
            let file = try JSONDecoder().decode(TransformFile.self, from: data)
            // The train input is already transformed: keep the fitted transforms for serving raw rows.
            transforms = file.transforms
            inputColumns = file.inputColumns
        }
        (label, features) = try args.labelAndFeatures(frame)
        let features = self.features
        let label = self.label
        let extra: [FittedTransform] = normalizeRows ? [.normalizeRows(columns: features)] : []
        if !extra.isEmpty {
            if !fromFile { inputColumns = features + [label] }
            transforms += extra
            frame = try args.wrap { () throws(MLError) in try extra[0].apply(frame) }
        }
        x = try args.wrap { () throws(MLError) in try frame.matrix(features) }
        y = try args.wrap { () throws(MLError) in try frame.numbers(label) }
        if let index = y.firstIndex(where: { $0.isNaN }) {
            throw args.failure("\(frame.source ?? "train"):\(index + 2), column '\(label)': the label is missing")
        }
        if context(args, "validation") {
            frame = try args.frame("validation")
            for transform in extra { frame = try args.wrap { () throws(MLError) in try transform.apply(frame) } }
            let vx = try args.wrap { () throws(MLError) in try frame.matrix(features) }
            let vy = try args.wrap { () throws(MLError) in try frame.numbers(label) }
            validation = (vx, vy)
        }
        inputColumns.removeAll { $0 == label }
    }

    func artifact(algorithm: String, args: StepArguments) -> ModelArtifact {
        var parameters: [String: String] = [:]
        for (key, value) in args.context.options {
            parameters[key] =
                value.string ?? value.number.map(CSVWriter.formatCell) ?? value.bool.map(String.init) ?? "\(value)"
        }
        return ModelArtifact(
            inputColumns: transforms.isEmpty ? features : inputColumns, features: features, label: label,
            transforms: transforms, algorithm: algorithm, parameters: parameters,
            training: .init(rows: x.rows, trainedAt: isoNow()))
    }

    func save(_ model: ModelArtifact, args: StepArguments) throws -> [String: JSONValue] {
        let path = args.output("model/model.json")
        try FileManager.default.createDirectory(atPath: args.output("model"), withIntermediateDirectories: true)
        try args.wrap { () throws(MLError) in try model.save(to: path) }
        var outputs: [String: JSONValue] = ["model": .string(path), "rows": .int(x.rows)]
        for (key, value) in model.training.metrics { outputs[key] = .double(value) }
        return outputs
    }
}

private func context(_ args: StepArguments, _ name: String) -> Bool {
    if let value = args.value(name), value != .null { return true }
    return false
}

/// `train.linear`: `method` ols (default) | gd | ridge | lasso | elasticnet.
///
/// Inputs: `train` (CSV), optional `transforms`. Options: `label`, `features`, `learning_rate`, `iterations`,
/// `initial_weights`, `initial_intercept` (gd), `alpha` (ridge/lasso/elasticnet), `l1_ratio` (elasticnet).
/// Outputs: `model` (model.json), `train_r2`, `train_mse`.
struct TrainLinearStep: ArgumentStep {
    let name = "train.linear"

    func run(_ args: StepArguments) async throws -> [String: JSONValue] {
        let data = try TrainingData(args)
        let method = try args.string("method") ?? "ols"
        let alpha = try args.number("alpha") ?? 1
        let l1Ratio = try args.number("l1_ratio") ?? 0.5
        let learningRate = try args.number("learning_rate") ?? 0.01
        let iterations = Int(try args.number("iterations") ?? 1000)
        let initialWeights = try args.numbers("initial_weights")
        let initialIntercept = try args.number("initial_intercept") ?? 0
        let model: LinearModel = try args.wrap { () throws(MLError) in
            switch method {
            case "ols": return try LinearRegression.fit(data.x, data.y).model
            case "ridge": return try LinearRegression.fit(data.x, data.y, l2: alpha).model
            case "lasso": return try LinearRegression.elasticNet(data.x, data.y, alpha: alpha, l1Ratio: 1)
            case "elasticnet":
                return try LinearRegression.elasticNet(data.x, data.y, alpha: alpha, l1Ratio: l1Ratio)
            case "gd":
                return try LinearRegression.gradientDescent(
                    data.x, data.y, learningRate: learningRate, iterations: iterations,
                    initialWeights: initialWeights, initialIntercept: initialIntercept)
            default:
                throw MLError(.invalidOption, "method '\(method)' is not ols, gd, ridge, lasso or elasticnet")
            }
        }
        var artifact = data.artifact(algorithm: "linear", args: args)
        artifact.linear = model
        let predictions = model.predict(data.x)
        artifact.training.metrics = [
            "train_r2": Metrics.r2(data.y, predictions), "train_mse": Metrics.mse(data.y, predictions),
        ]
        return try data.save(artifact, args: args)
    }
}

/// `train.logistic`: L2 logistic regression (Newton) on 0/1 labels; with more than two classes (or
/// `multi_class: multinomial`), softmax regression by L-BFGS. Options: `label`, `features`, `C` (default 1).
/// Outputs: `model`, `train_auc` (binary) or `train_accuracy` and `classes` (multiclass).
struct TrainLogisticStep: ArgumentStep {
    let name = "train.logistic"

    func run(_ args: StepArguments) async throws -> [String: JSONValue] {
        let data = try TrainingData(args)
        let c = try args.number("C") ?? 1
        var artifact = data.artifact(algorithm: "logistic", args: args)
        if try isMulticlass(data, args) {
            let model = try args.wrap { () throws(MLError) in try SoftmaxRegression.fit(data.x, data.y, c: c) }
            artifact.multiclass = model
            artifact.training.metrics["train_accuracy"] = Metrics.multiclassAccuracy(
                data.y, model.predictClass(data.x))
            var outputs = try data.save(artifact, args: args)
            outputs["classes"] = .int(model.classes.count)
            return outputs
        }
        let model = try args.wrap { () throws(MLError) in try LogisticRegression.fit(data.x, data.y, c: c) }
        artifact.logistic = model
        if let auc = Metrics.rocAUC(data.y, model.predictProbability(data.x)) {
            artifact.training.metrics["train_auc"] = auc
        }
        return try data.save(artifact, args: args)
    }
}

/// `train.gbdt`: histogram gradient-boosted trees with XGBoost's option names (`objective`, `num_round`,
/// `max_depth`, `eta`, `min_child_weight`, `lambda`, `gamma`, `subsample`, `colsample_bytree`,
/// `early_stopping_rounds` with a `validation` input). Outputs: `model`, `trees`.
struct TrainGBDTStep: ArgumentStep {
    let name = "train.gbdt"

    func run(_ args: StepArguments) async throws -> [String: JSONValue] {
        let data = try TrainingData(args)
        var options: [String: String] = [:]
        for (key, value) in args.context.options {
            options[key] = value.string ?? value.number.map(CSVWriter.formatCell)
        }
        if let hyper = args.value("hyperparameters")?.object {
            for (key, value) in hyper { options[key] = value.string ?? value.number.map(CSVWriter.formatCell) }
        }
        if let objective = options["objective"], objective.hasPrefix("multi:") {
            return try trainMulticlass(objective: objective, options: options, data: data, args: args)
        }
        let parameters = try args.wrap { () throws(MLError) in try GBDTParameters(options: options) }
        let model = try args.wrap { () throws(MLError) in
            try GBDT.fit(data.x, data.y, parameters: parameters, validation: data.validation)
        }
        var artifact = data.artifact(algorithm: "gbdt", args: args)
        artifact.gbdt = model
        var outputs = try data.save(artifact, args: args)
        outputs["trees"] = .int(model.trees.count)
        return outputs
    }

    /// `multi:softprob` / `multi:softmax` with `num_class`: one tree per class per round.
    private func trainMulticlass(objective: String, options: [String: String], data: TrainingData, args: StepArguments)
        throws -> [String: JSONValue]
    {
        guard ["multi:softprob", "multi:softmax"].contains(objective) else {
            throw args.failure("objective '\(objective)' is not supported; use multi:softprob or multi:softmax")
        }
        var treeOptions = options
        treeOptions["objective"] = "reg:squarederror"
        let parameters = try args.wrap { () throws(MLError) in try GBDTParameters(options: treeOptions) }
        guard let numClass = options["num_class"].flatMap(parseNumber).map(Int.init), numClass >= 2 else {
            throw args.failure("\(objective) needs num_class (the number of classes, at least 2), as XGBoost does")
        }
        let model = try args.wrap { () throws(MLError) in
            try MulticlassGBDT.fit(
                data.x, data.y, numClass: numClass, parameters: parameters, validation: data.validation)
        }
        var artifact = data.artifact(algorithm: "gbdt", args: args)
        artifact.multiclass = model
        var outputs = try data.save(artifact, args: args)
        outputs["trees"] = .int(model.perClass?.reduce(0) { $0 + $1.trees.count } ?? 0)
        outputs["classes"] = .int(numClass)
        return outputs
    }
}

/// Whether to train a multiclass model: option `multi_class: multinomial`, or labels beyond 0/1.
private func isMulticlass(_ data: TrainingData, _ args: StepArguments) throws -> Bool {
    if try args.string("multi_class") == "multinomial" { return true }
    return !data.y.allSatisfy { $0 == 0 || $0 == 1 }
}

/// `train.random_forest`: bagged trees for classification (0/1 labels, or more classes: one forest per class)
/// or regression.
///
/// Options: `n_estimators` or `trees` (100), `max_depth` (12), `min_samples_leaf` (1), `max_features` (√d, per tree),
/// `oversample` (false; W3 balances the classes on the training part), `seed`, `task` classification |
/// regression (default: classification when every label is 0 or 1). Outputs: `model`, `trees`.
struct TrainRandomForestStep: ArgumentStep {
    let name = "train.random_forest"

    func run(_ args: StepArguments) async throws -> [String: JSONValue] {
        let data = try TrainingData(args)
        var parameters = RandomForestParameters()
        if let v = try args.number("n_estimators") ?? args.number("trees") { parameters.nEstimators = Int(v) }
        if let v = try args.number("max_depth") { parameters.maxDepth = Int(v) }
        if let v = try args.number("min_samples_leaf") { parameters.minSamplesLeaf = Int(v) }
        if let v = try args.number("max_features") { parameters.maxFeatures = Int(v) }
        if let v = try args.number("seed") { parameters.seed = UInt64(max(0, v)) }
        parameters.oversample = try args.bool("oversample") ?? false
        let binaryLabels = data.y.allSatisfy { $0 == 0 || $0 == 1 }
        let task = try args.string("task") ?? (binaryLabels ? "classification" : "regression")
        guard task == "regression" || task == "classification" else {
            throw args.failure("task must be classification or regression, got '\(task)'")
        }
        if task == "classification" && !binaryLabels {
            let model = try args.wrap { () throws(MLError) in
                try MulticlassRandomForest.fit(data.x, data.y, parameters: parameters)
            }
            var artifact = data.artifact(algorithm: "random_forest", args: args)
            artifact.parameters["task"] = task
            artifact.multiclass = model
            var outputs = try data.save(artifact, args: args)
            outputs["trees"] = .int(parameters.nEstimators * model.classes.count)
            outputs["classes"] = .int(model.classes.count)
            return outputs
        }
        let forest = try args.wrap { () throws(MLError) in try RandomForest.fit(data.x, data.y, parameters: parameters)
        }
        var artifact = data.artifact(algorithm: "random_forest", args: args)
        artifact.parameters["task"] = task
        artifact.gbdt = forest
        var outputs = try data.save(artifact, args: args)
        outputs["trees"] = .int(forest.trees.count)
        return outputs
    }
}

/// `train.mlp`: a dense ReLU regressor trained with Adam on MSE with early stopping (W2).
///
/// Options (numbers may be strings, as W2's hyperparameters are; also read from a `hyperparameters` map):
/// `epochs` (200), `layers` (2), `dense_layer` (64), `batch_size` (8), `learning_rate` (0.001), `patience` or
/// `early_stopping_patience` (10), `seed`, `normalize_rows: l2` (rows L2-normalised, saved with the model);
/// optional `validation` input (else 10 % of the training rows). The training data may come as `train` or
/// SageMaker's channel name `training`. Outputs: `model`, `train_mse`.
struct TrainMLPStep: BuiltinStep {
    let name = "train.mlp"

    func run(_ context: BuiltinStepContext) async throws -> [String: JSONValue] {
        var args = StepArguments(context)
        // SageMaker passes hyperparameters as one map of strings; they read like options here.
        if let hyper = (context.value("hyperparameters") ?? context.value("HyperParameters"))?.object {
            var merged = context
            for (key, value) in hyper where merged.inputs[key] == nil { merged.inputs[key] = value }
            args = StepArguments(merged)
        }
        let normalize = try args.string("normalize_rows")
        guard normalize == nil || ["l2", "true", "false"].contains(normalize!) else {
            throw args.failure("'normalize_rows' must be l2 (or true/false), got '\(normalize!)'")
        }
        let data = try TrainingData(args, normalizeRows: normalize == "l2" || normalize == "true")
        var parameters = MLPParameters()
        if let v = try args.number("epochs") { parameters.epochs = Int(v) }
        if let v = try args.number("layers") { parameters.hiddenLayers = Int(v) }
        if let v = try args.number("dense_layer") { parameters.width = Int(v) }
        if let v = try args.number("batch_size") { parameters.batchSize = Int(v) }
        if let v = try args.number("learning_rate") { parameters.learningRate = v }
        if let v = try args.number("patience") ?? args.number("early_stopping_patience") {
            parameters.patience = Int(v)
        }
        if let v = try args.number("seed") { parameters.seed = UInt64(max(0, v)) }
        let model = try args.wrap { () throws(MLError) in
            try MLP.fit(data.x, data.y, parameters: parameters, validation: data.validation)
        }
        var artifact = data.artifact(algorithm: "mlp", args: args)
        artifact.mlp = model
        artifact.training.metrics["train_mse"] = Metrics.mse(data.y, model.predict(data.x))
        return try data.save(artifact, args: args)
    }
}
