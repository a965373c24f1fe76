import SluiceCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Evaluation metrics with scikit-learn's definitions.
public enum Metrics {
    /// Mean squared error.
    public static func mse(_ y: [Double], _ p: [Double]) -> Double {
        zip(y, p).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) } / Double(y.count)
    }

    /// Root mean squared error.
    public static func rmse(_ y: [Double], _ p: [Double]) -> Double { mse(y, p).squareRoot() }

    /// Mean absolute error.
    public static func mae(_ y: [Double], _ p: [Double]) -> Double {
        zip(y, p).reduce(0) { $0 + abs($1.0 - $1.1) } / Double(y.count)
    }

    /// Coefficient of determination (1 − SS_res/SS_tot; 1 for a perfect fit of constant y, else 0 then).
    public static func r2(_ y: [Double], _ p: [Double]) -> Double {
        let mean = y.reduce(0, +) / Double(y.count)
        let ssRes = zip(y, p).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }
        let ssTot = y.reduce(0) { $0 + ($1 - mean) * ($1 - mean) }
        if ssTot == 0 { return ssRes == 0 ? 1 : 0 }
        return 1 - ssRes / ssTot
    }

    /// Population standard deviation of the residuals y − p (numpy `std`, ddof 0).
    public static func residualStandardDeviation(_ y: [Double], _ p: [Double]) -> Double {
        let r = zip(y, p).map { $0 - $1 }
        let mean = r.reduce(0, +) / Double(r.count)
        return (r.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(r.count)).squareRoot()
    }

    /// Binary confusion counts at `threshold` on scores; labels are 0/1.
    @MemberwiseInit
    public struct Confusion: Sendable, Equatable, Codable {
        public var tn: Int = 0
        public var fp: Int = 0
        public var fn: Int = 0
        public var tp: Int = 0
    }

    /// Confusion counts of 0/1 labels against scores ≥ threshold.
    public static func confusion(_ y: [Double], _ scores: [Double], threshold: Double = 0.5) -> Confusion {
        var c = Confusion()
        for (label, score) in zip(y, scores) {
            let predicted = score >= threshold
            switch (label >= 0.5, predicted) {
            case (true, true): c.tp += 1
            case (true, false): c.fn += 1
            case (false, true): c.fp += 1
            case (false, false): c.tn += 1
            }
        }
        return c
    }

    /// Accuracy of thresholded scores.
    public static func accuracy(_ y: [Double], _ scores: [Double], threshold: Double = 0.5) -> Double {
        let c = confusion(y, scores, threshold: threshold)
        return Double(c.tp + c.tn) / Double(y.count)
    }

    /// Precision tp/(tp+fp); 0 when nothing is predicted positive (scikit-learn's zero_division default).
    public static func precision(_ y: [Double], _ scores: [Double], threshold: Double = 0.5) -> Double {
        let c = confusion(y, scores, threshold: threshold)
        return c.tp + c.fp == 0 ? 0 : Double(c.tp) / Double(c.tp + c.fp)
    }

    /// Recall tp/(tp+fn); 0 when there are no positives.
    public static func recall(_ y: [Double], _ scores: [Double], threshold: Double = 0.5) -> Double {
        let c = confusion(y, scores, threshold: threshold)
        return c.tp + c.fn == 0 ? 0 : Double(c.tp) / Double(c.tp + c.fn)
    }

    /// F1 = 2tp / (2tp + fp + fn); 0 when undefined.
    public static func f1(_ y: [Double], _ scores: [Double], threshold: Double = 0.5) -> Double {
        let c = confusion(y, scores, threshold: threshold)
        let denominator = 2 * c.tp + c.fp + c.fn
        return denominator == 0 ? 0 : Double(2 * c.tp) / Double(denominator)
    }

    /// Area under the ROC curve (Mann–Whitney with tied scores counted half); nil with one class only.
    public static func rocAUC(_ y: [Double], _ scores: [Double]) -> Double? {
        let order = scores.indices.sorted { scores[$0] < scores[$1] }
        var rankSumPositive = 0.0
        var positives = 0.0
        var i = 0
        while i < order.count {
            var j = i
            while j + 1 < order.count, scores[order[j + 1]] == scores[order[i]] { j += 1 }
            let averageRank = Double(i + j) / 2 + 1
            for k in i...j where y[order[k]] >= 0.5 {
                rankSumPositive += averageRank
                positives += 1
            }
            i = j + 1
        }
        let negatives = Double(y.count) - positives
        guard positives > 0, negatives > 0 else { return nil }
        return (rankSumPositive - positives * (positives + 1) / 2) / (positives * negatives)
    }

    /// Mean binary cross-entropy; probabilities clipped to [ε, 1−ε] with ε the float64 machine epsilon.
    public static func logLoss(_ y: [Double], _ probabilities: [Double]) -> Double {
        let eps = Double.ulpOfOne
        var total = 0.0
        for (label, p) in zip(y, probabilities) {
            let q = min(max(p, eps), 1 - eps)
            total -= label >= 0.5 ? log(q) : log(1 - q)
        }
        return total / Double(y.count)
    }

    /// Multiclass accuracy of predicted class labels.
    public static func multiclassAccuracy(_ y: [Double], _ predicted: [Double]) -> Double {
        Double(zip(y, predicted).filter { $0 == $1 }.count) / Double(y.count)
    }

    /// Unweighted mean of per-class F1 over the classes present in y or the predictions.
    public static func macroF1(_ y: [Double], _ predicted: [Double]) -> Double {
        let classes = Set(y).union(predicted).sorted()
        var total = 0.0
        for c in classes {
            var tp = 0
            var fp = 0
            var fn = 0
            for (label, guess) in zip(y, predicted) {
                if guess == c && label == c { tp += 1 } else if guess == c { fp += 1 } else if label == c { fn += 1 }
            }
            let denominator = 2 * tp + fp + fn
            total += denominator == 0 ? 0 : Double(2 * tp) / Double(denominator)
        }
        return total / Double(classes.count)
    }

    /// Regression metrics under SageMaker's report keys (`regression_metrics.<name>.value`).
    public static func regressionReport(_ y: [Double], _ p: [Double]) -> [String: [String: [String: Double]]] {
        [
            "regression_metrics": [
                "mse": ["value": mse(y, p)], "rmse": ["value": rmse(y, p)], "mae": ["value": mae(y, p)],
                "r2": ["value": r2(y, p)],
                "standard_deviation": ["value": residualStandardDeviation(y, p)],
            ]
        ]
    }

    /// Binary metrics under SageMaker's report keys (`binary_classification_metrics.<name>.value`).
    public static func binaryReport(_ y: [Double], _ scores: [Double], threshold: Double = 0.5)
        -> [String: [String: [String: Double]]]
    {
        var metrics: [String: [String: Double]] = [
            "accuracy": ["value": accuracy(y, scores, threshold: threshold)],
            "precision": ["value": precision(y, scores, threshold: threshold)],
            "recall": ["value": recall(y, scores, threshold: threshold)],
            "f1": ["value": f1(y, scores, threshold: threshold)],
        ]
        if let auc = rocAUC(y, scores) { metrics["auc"] = ["value": auc] }
        if scores.allSatisfy({ $0 >= 0 && $0 <= 1 }) { metrics["log_loss"] = ["value": logLoss(y, scores)] }
        let c = confusion(y, scores, threshold: threshold)
        metrics["true_negatives"] = ["value": Double(c.tn)]
        metrics["false_positives"] = ["value": Double(c.fp)]
        metrics["false_negatives"] = ["value": Double(c.fn)]
        metrics["true_positives"] = ["value": Double(c.tp)]
        return ["binary_classification_metrics": metrics]
    }

    /// W3's `model-metrics.json` keys.
    public static func w3Report(_ y: [Double], _ scores: [Double], threshold: Double = 0.5) -> [String: Double] {
        [
            "accuracy_score": accuracy(y, scores, threshold: threshold),
            "precision_score": precision(y, scores, threshold: threshold),
            "recall_score": recall(y, scores, threshold: threshold),
        ]
    }
}
