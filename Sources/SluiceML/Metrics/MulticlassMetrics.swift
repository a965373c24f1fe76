/// Multiclass metrics with scikit-learn's definitions (`precision_recall_fscore_support`, `zero_division=0`).
extension Metrics {
    /// Per-class counts over the classes present in y or the predictions, sorted.
    public struct ClassCounts: Sendable, Equatable {
        public var label: Double
        public var truePositives: Int
        public var falsePositives: Int
        public var falseNegatives: Int
        /// Rows whose true label is this class.
        public var support: Int { truePositives + falseNegatives }

        /// tp / (tp + fp), 0 when nothing was predicted as this class.
        public var precision: Double {
            truePositives + falsePositives == 0 ? 0 : Double(truePositives) / Double(truePositives + falsePositives)
        }
        /// tp / (tp + fn), 0 when the class has no rows.
        public var recall: Double {
            support == 0 ? 0 : Double(truePositives) / Double(support)
        }
        /// 2tp / (2tp + fp + fn), 0 when undefined.
        public var f1: Double {
            let denominator = 2 * truePositives + falsePositives + falseNegatives
            return denominator == 0 ? 0 : Double(2 * truePositives) / Double(denominator)
        }
    }

    /// Counts per class of labels against predicted labels.
    public static func classCounts(_ y: [Double], _ predicted: [Double]) -> [ClassCounts] {
        let classes = Set(y).union(predicted).sorted()
        var position: [Double: Int] = [:]
        for (k, c) in classes.enumerated() { position[c] = k }
        var counts = classes.map { ClassCounts(label: $0, truePositives: 0, falsePositives: 0, falseNegatives: 0) }
        for (label, guess) in zip(y, predicted) {
            if label == guess {
                counts[position[label]!].truePositives += 1
            } else {
                counts[position[guess]!].falsePositives += 1
                counts[position[label]!].falseNegatives += 1
            }
        }
        return counts
    }

    /// Support-weighted mean of a per-class metric (scikit-learn's `average='weighted'`).
    static func weighted(_ counts: [ClassCounts], _ metric: (ClassCounts) -> Double) -> Double {
        let total = counts.reduce(0) { $0 + $1.support }
        return total == 0 ? 0 : counts.reduce(0) { $0 + Double($1.support) * metric($1) } / Double(total)
    }

    /// F1 averaged over classes weighted by their support.
    public static func weightedF1(_ y: [Double], _ predicted: [Double]) -> Double {
        weighted(classCounts(y, predicted), \.f1)
    }

    /// Multiclass metrics under SageMaker's report keys (`multiclass_classification_metrics.<name>.value`):
    /// accuracy, weighted precision / recall / f1, and macro f1.
    public static func multiclassReport(_ y: [Double], _ predicted: [Double]) -> [String: [String: [String: Double]]] {
        let counts = classCounts(y, predicted)
        let macro = counts.isEmpty ? 0 : counts.reduce(0) { $0 + $1.f1 } / Double(counts.count)
        return [
            "multiclass_classification_metrics": [
                "accuracy": ["value": multiclassAccuracy(y, predicted)],
                "weighted_precision": ["value": weighted(counts, \.precision)],
                "weighted_recall": ["value": weighted(counts, \.recall)],
                "weighted_f1": ["value": weighted(counts, \.f1)],
                "macro_f1": ["value": macro],
            ]
        ]
    }
}
