import SluiceCore
import SluiceMonitor
import Testing

/// Ground truth joined with captured predictions by inference id; metrics per window against thresholds.
@Suite struct ModelQualityTests {
    static func inference(_ id: String, _ predictions: [Double]) -> CapturedInference {
        CapturedInference(
            inferenceId: id, inferenceTime: "2026-12-04T10:00:00Z", rows: predictions.map { _ in [.number(0)] },
            predictions: predictions)
    }

    @Test func regressionPairsEachBatchRowWithItsLabelAndFlagsCrossedThresholds() {
        let inferences = [
            Self.inference("a", [10, 20]), Self.inference("b", [30]), Self.inference("c", [5]),
            Self.inference("d", [1, 2]),
        ]
        // "c" has no label yet; "d" has one value for two predictions.
        let labels: [String: JSONValue] = ["a": [12, 17], "b": .string("34"), "d": 5]
        let settings = QualitySettings(
            problem: .regression,
            thresholds: [QualityThreshold("mae>2")!, QualityThreshold("rmse>100")!, QualityThreshold("r2<0.9")!])
        let report = ModelQuality.report(inferences: inferences, labels: labels, settings: settings)
        #expect(report.pairCount == 3)
        #expect(report.unlabelled == 1)
        #expect(report.problems.count == 1 && report.problems[0].hasPrefix("d:"))
        // Errors 2, 3, 4: mae 3, mse 29/3; truth 12, 17, 34 has mean 21 and total sum of squares 81 + 16 + 169 = 266.
        #expect(report.metrics["mae"] == 3)
        #expect(abs(report.metrics["mse"]! - 29.0 / 3) < 1e-12)
        #expect(abs(report.metrics["r2"]! - (1 - 29.0 / 266)) < 1e-12)
        #expect(report.violations.map(\.metricName) == ["mae", "r2"])
        #expect(report.violations[0].constraintCheckType == .greaterThanThreshold)
        #expect(report.violations[0].description == "Metric mae with 3.0 was GreaterThanThreshold '2.0'")
    }

    @Test func binaryClassificationThresholdsScoresAtOneHalf() {
        let inferences = [Self.inference("a", [0.9, 0.2, 0.7, 0.4])]
        let settings = QualitySettings(problem: .binaryClassification, thresholds: [QualityThreshold("accuracy<0.8")!])
        let report = ModelQuality.report(inferences: inferences, labels: ["a": [1, 0, 0, 1]], settings: settings)
        // Predicted 1, 0, 1, 0 against 1, 0, 0, 1: one true positive, one false positive, one false negative.
        #expect(report.metrics["accuracy"] == 0.5)
        #expect(report.metrics["precision"] == 0.5)
        #expect(report.metrics["recall"] == 0.5)
        #expect(report.violations.map(\.metricName) == ["accuracy"])
    }

    @Test func thresholdsParseBothComparisonsAndRefuseOtherText() {
        #expect(
            QualityThreshold("mae > 50")
                == QualityThreshold(metric: "mae", comparison: .greaterThanThreshold, threshold: 50))
        #expect(QualityThreshold("r2<-0.5")?.threshold == -0.5)
        #expect(QualityThreshold("r2<-0.5")?.comparison == .lessThanThreshold)
        #expect(QualityThreshold("mae=3") == nil)
        #expect(QualityThreshold(">3") == nil)
        #expect(QualityThreshold("mae>high") == nil)
    }

    @Test func radixSortOrdersLikeTheStandardSort() {
        var generator = SplitMix64(seed: 7)
        var values = (0..<50_000).map { _ in (Double(generator.next() % 2_000_000) - 1_000_000) / 3.7 }
        values += [0, -0.0, .infinity, -.infinity, 1e-300, -1e-300, 1e300]
        values += Array(repeating: 42.5, count: 10_000)
        let sorted = RadixSort.sorted(values)
        #expect(sorted == values.sorted())
        // All keys alike in their high digits (the passes that change nothing are skipped).
        let narrow = (0..<10_000).map { 1.0 + Double($0 % 977) * 1e-12 }
        #expect(RadixSort.sorted(narrow) == narrow.sorted())
    }
}
