import Foundation
public import SluiceCore
import SluiceML

/// What kind of model a monitor judges, as Model Monitor's model-quality jobs name it.
public enum ProblemType: String, Sendable, Codable, CaseIterable {
    case regression = "Regression"
    case binaryClassification = "BinaryClassification"
    case multiclassClassification = "MulticlassClassification"

    /// The metrics computed for this problem, by name.
    public var metricNames: [String] {
        switch self {
        case .regression: ["mae", "mse", "rmse", "r2"]
        case .binaryClassification: ["accuracy", "precision", "recall", "f1", "auc"]
        case .multiclassClassification: ["accuracy", "f1"]
        }
    }
}

/// A model-quality threshold: a metric crossing it is a violation (Model Monitor's `comparison_operator`).
@MemberwiseInit
public struct QualityThreshold: Sendable, Codable, Equatable {
    public enum Comparison: String, Sendable, Codable {
        /// A violation when the metric is above the threshold (errors: `mae>50`).
        case greaterThanThreshold = "GreaterThanThreshold"
        /// A violation when the metric is below the threshold (scores: `r2<0.3`).
        case lessThanThreshold = "LessThanThreshold"
    }

    public var metric: String
    public var comparison: Comparison
    public var threshold: Double

    /// Parses `METRIC>VALUE` or `METRIC<VALUE` (e.g. `mae>50`, `r2<0.3`).
    public init?(_ text: String) {
        guard let index = text.firstIndex(where: { $0 == ">" || $0 == "<" }) else { return nil }
        let name = text[..<index].trimmingCharacters(in: .whitespaces)
        guard !name.isEmpty, let value = Double(text[text.index(after: index)...].trimmingCharacters(in: .whitespaces)),
            value.isFinite
        else { return nil }
        self.init(
            metric: name, comparison: text[index] == ">" ? .greaterThanThreshold : .lessThanThreshold, threshold: value
        )
    }

    /// Whether `value` crosses the threshold.
    public func isCrossed(by value: Double) -> Bool {
        switch comparison {
        case .greaterThanThreshold: value > threshold
        case .lessThanThreshold: value < threshold
        }
    }

    public var text: String { "\(metric)\(comparison == .greaterThanThreshold ? ">" : "<")\(threshold)" }
}

/// What a monitor checks about model quality: the problem type and the thresholds.
@MemberwiseInit
public struct QualitySettings: Sendable, Codable, Equatable {
    public var problem: ProblemType
    public var thresholds: [QualityThreshold]
}

/// A model-quality violation, in Model Monitor's shape.
public struct QualityViolation: Sendable, Codable, Equatable {
    public var metricName: String
    public var constraintCheckType: QualityThreshold.Comparison
    public var description: String

    enum CodingKeys: String, CodingKey {
        case metricName = "metric_name"
        case constraintCheckType = "constraint_check_type"
        case description
    }
}

/// Model quality over one window: the captured predictions that have ground truth, the metrics, the violations.
public struct ModelQualityReport: Sendable, Codable, Equatable {
    public var problem: ProblemType
    /// Predictions paired with a label.
    public var pairCount: Int
    /// Captured inferences of the window that have no ground truth yet.
    public var unlabelled: Int
    /// Metric values by name (a metric that is undefined for the window, e.g. AUC with one class, is absent).
    public var metrics: [String: Double]
    public var violations: [QualityViolation]
    /// Inferences whose label could not be paired with their predictions, as `id: reason`.
    public var problems: [String]
}

/// Joins captured predictions with ground truth and computes model-quality metrics against thresholds.
public enum ModelQuality {
    /// The quality of `inferences` given `labels` (by inference id).
    ///
    /// A label is a number (or a numeric string) for a one-row request, or a list with one per predicted value of a
    /// batch request. Classification predictions are scores (≥ 0.5 is the positive class) for binary problems and
    /// class numbers for multiclass ones.
    public static func report(
        inferences: [CapturedInference], labels: [String: JSONValue], settings: QualitySettings
    ) -> ModelQualityReport {
        var truth: [Double] = []
        var predicted: [Double] = []
        var unlabelled = 0
        var problems: [String] = []
        for inference in inferences {
            guard let label = labels[inference.inferenceId] else {
                unlabelled += 1
                continue
            }
            let values = numbers(label)
            guard let values, values.count == inference.predictions.count else {
                problems.append(
                    "\(inference.inferenceId): the label has \(values.map { "\($0.count) value(s)" } ?? "no number") "
                        + "but the inference predicted \(inference.predictions.count)")
                continue
            }
            truth += values
            predicted += inference.predictions
        }
        let metrics = truth.isEmpty ? [:] : compute(settings.problem, truth: truth, predicted: predicted)
        var violations: [QualityViolation] = []
        for threshold in settings.thresholds {
            guard let value = metrics[threshold.metric], threshold.isCrossed(by: value) else { continue }
            violations.append(
                QualityViolation(
                    metricName: threshold.metric, constraintCheckType: threshold.comparison,
                    description: "Metric \(threshold.metric) with \(value) was \(threshold.comparison.rawValue) "
                        + "'\(threshold.threshold)'"))
        }
        return ModelQualityReport(
            problem: settings.problem, pairCount: truth.count, unlabelled: unlabelled, metrics: metrics,
            violations: violations, problems: problems)
    }

    /// The metrics of `problem`, by name.
    public static func compute(_ problem: ProblemType, truth: [Double], predicted: [Double]) -> [String: Double] {
        switch problem {
        case .regression:
            return [
                "mae": Metrics.mae(truth, predicted), "mse": Metrics.mse(truth, predicted),
                "rmse": Metrics.rmse(truth, predicted), "r2": Metrics.r2(truth, predicted),
            ]
        case .binaryClassification:
            var metrics = [
                "accuracy": Metrics.accuracy(truth, predicted), "precision": Metrics.precision(truth, predicted),
                "recall": Metrics.recall(truth, predicted), "f1": Metrics.f1(truth, predicted),
            ]
            metrics["auc"] = Metrics.rocAUC(truth, predicted)
            return metrics
        case .multiclassClassification:
            return [
                "accuracy": Metrics.multiclassAccuracy(truth, predicted), "f1": Metrics.macroF1(truth, predicted),
            ]
        }
    }

    private static func numbers(_ label: JSONValue) -> [Double]? {
        switch label {
        case .array(let items):
            let values = items.compactMap { numbers($0)?.first }
            return values.count == items.count ? values : nil
        case .string(let text): return Double(text.trimmingCharacters(in: .whitespaces)).map { [$0] }
        case .bool(let flag): return [flag ? 1 : 0]
        default: return label.number.map { [$0] }
        }
    }
}
