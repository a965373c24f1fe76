/// A SageMaker built-in algorithm that Sluice runs natively, recognised by a training module's `ImageName`.
public struct SageMakerAlgorithm: Hashable, Sendable {
    /// The algorithm's name, e.g. `xgboost`.
    public var name: String
    /// The built-in step that trains it.
    public var builtinStep: String
    /// The hyperparameter names it accepts, as SageMaker passes them.
    public var hyperparameters: [String]

    /// SageMaker's built-in XGBoost, trained by Sluice's gradient-boosted trees.
    public static let xgboost = SageMakerAlgorithm(
        name: "xgboost", builtinStep: "train.sagemaker.xgboost",
        hyperparameters: [
            "objective", "eval_metric", "num_round", "max_depth", "eta", "gamma", "min_child_weight", "subsample",
            "colsample_bytree", "lambda", "alpha", "scale_pos_weight", "num_class", "seed", "max_bin",
            "early_stopping_rounds", "tree_method", "verbosity",
        ])

    public static let all = [xgboost]

    /// The algorithm an image names: its repository (the last path part, before the tag) is the algorithm's name
    /// or `sagemaker-` and the name, so `xgboost:latest`, `xgboost:1` and
    /// `683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1` all name XGBoost.
    public static func forImage(_ image: String) -> SageMakerAlgorithm? {
        let last = image.split(separator: "/").last.map(String.init) ?? image
        let repository =
            (last.split(separator: ":").first.map(String.init) ?? last).split(separator: "@").first
            .map(String.init)?.lowercased() ?? ""
        return all.first { repository == $0.name || repository == "sagemaker-" + $0.name }
    }
}
