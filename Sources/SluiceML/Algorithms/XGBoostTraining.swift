#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Training under XGBoost's hyperparameters, as SageMaker's built-in XGBoost takes them (every value may be a
/// string), with Sluice's gradient-boosted trees. The result is XGBoost's own JSON model, which XGBoost loads and
/// predicts from, and the same model read back as Sluice holds it (`XGBoostImport`), so both predict alike.
public enum XGBoostTraining {
    public static let objectives = [
        "reg:squarederror", "reg:logistic", "binary:logistic", "multi:softprob", "multi:softmax",
    ]
    public static let evalMetrics = ["rmse", "mae", "logloss", "error", "auc", "mlogloss", "merror"]

    public struct Result: Sendable {
        public var objective: String
        /// The model in XGBoost's JSON format (`xgboost.Booster(model_file=…)` reads it).
        public var xgboostJSON: [UInt8]
        /// For regression and binary objectives.
        public var model: GBDTModel?
        /// For `multi:softprob` and `multi:softmax`.
        public var multiclass: MulticlassModel?
        /// `eval_metric`, or the objective's default as in XGBoost.
        public var evalMetric: String

        /// Values (`reg:squarederror`), probabilities (logistic objectives) or classes (multiclass).
        public func predict(_ x: Matrix) -> [Double] {
            if let model { return model.predict(x) }
            return multiclass?.predictClass(x) ?? []
        }

        /// `evalMetric` of the model on rows `x` with labels `y`.
        public func evaluate(_ x: Matrix, _ y: [Double]) -> Double {
            if let multiclass {
                let p = multiclass.probabilities(x)
                if evalMetric == "merror" { return 1 - Metrics.multiclassAccuracy(y, multiclass.predictClass(x)) }
                var loss = 0.0
                for i in 0..<x.rows { loss -= log(max(p[i, Int(y[i])], 1e-15)) }
                return loss / Double(max(1, x.rows))
            }
            let p = predict(x)
            switch evalMetric {
            case "mae": return Metrics.mae(y, p)
            case "logloss": return Metrics.logLoss(y, p)
            case "error": return 1 - Metrics.accuracy(y, p)
            case "auc": return Metrics.rocAUC(y, p) ?? .nan
            default: return Metrics.rmse(y, p)
            }
        }
    }

    /// Fits a model on `x`, `y`; `validation` serves `early_stopping_rounds`.
    public static func fit(
        _ x: Matrix, _ y: [Double], hyperparameters: [String: String], validation: (x: Matrix, y: [Double])? = nil
    ) throws(MLError) -> Result {
        let objective = hyperparameters["objective"] ?? "reg:squarederror"
        guard objectives.contains(objective) else {
            throw MLError(
                .invalidOption,
                "objective '\(objective)' is not supported; use one of \(objectives.joined(separator: ", "))",
                column: "objective")
        }
        let multiclass = objective.hasPrefix("multi:")
        let defaultMetric = multiclass ? "mlogloss" : objective == "binary:logistic" ? "logloss" : "rmse"
        let evalMetric = hyperparameters["eval_metric"] ?? defaultMetric
        guard evalMetrics.contains(evalMetric) else {
            throw MLError(
                .invalidOption,
                "eval_metric '\(evalMetric)' is not supported; use one of \(evalMetrics.joined(separator: ", "))",
                column: "eval_metric")
        }
        if let method = hyperparameters["tree_method"], !["auto", "hist", "approx", "exact"].contains(method) {
            throw MLError(
                .invalidOption, "tree_method '\(method)' is not supported; use hist (or auto, approx, exact)",
                column: "tree_method")
        }
        var treeOptions = hyperparameters
        if multiclass { treeOptions["objective"] = "reg:squarederror" }
        let parameters = try GBDTParameters(options: treeOptions)
        if !multiclass {
            let model = try GBDT.fit(x, y, parameters: parameters, validation: validation)
            let json = XGBoostExport.encode(model, features: x.cols, scalePosWeight: parameters.scalePosWeight)
            return Result(
                objective: objective, xgboostJSON: json, model: try XGBoostImport.decode(json), multiclass: nil,
                evalMetric: evalMetric)
        }
        guard let text = hyperparameters["num_class"], let count = parseNumber(text), count >= 2,
            count == count.rounded()
        else {
            throw MLError(
                .invalidOption,
                "\(objective) needs num_class, the number of classes (a whole number ≥ 2), as XGBoost does",
                column: "num_class")
        }
        let fitted = try MulticlassGBDT.fit(x, y, numClass: Int(count), parameters: parameters, validation: validation)
        let json = XGBoostExport.encodeMulticlass(fitted.perClass ?? [], objective: objective, features: x.cols)
        return Result(
            objective: objective, xgboostJSON: json, model: nil, multiclass: try XGBoostImport.decodeMulticlass(json),
            evalMetric: evalMetric)
    }
}
