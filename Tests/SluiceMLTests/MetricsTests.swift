import SluiceML
import Testing

/// Expected values computed once with scikit-learn 1.x (`sklearn.metrics`), e.g.
/// `accuracy_score(y, s >= 0.5)`, `roc_auc_score(y, s)`, `log_loss(y, s)`, `r2_score(yr, pr)`,
/// `np.std(yr - pr)`, `f1_score(yc, pc, average='macro')` on the arrays below.
@Suite struct MetricsTests {
    let y: [Double] = [0, 1, 1, 0, 1, 0, 1, 1, 0, 0]
    let s: [Double] = [0.1, 0.8, 0.35, 0.4, 0.9, 0.6, 0.7, 0.2, 0.05, 0.5]

    @Test func binaryMetricsEqualScikitLearn() throws {
        #expect(abs(Metrics.accuracy(y, s) - 0.6) < 1e-9)
        #expect(abs(Metrics.precision(y, s) - 0.6) < 1e-9)
        #expect(abs(Metrics.recall(y, s) - 0.6) < 1e-9)
        #expect(abs(Metrics.f1(y, s) - 0.6) < 1e-9)
        #expect(abs(try #require(Metrics.rocAUC(y, s)) - 0.76) < 1e-9)
        #expect(abs(Metrics.logLoss(y, s) - 0.5621356394089014) < 1e-9)
        #expect(Metrics.confusion(y, s) == Metrics.Confusion(tn: 3, fp: 2, fn: 2, tp: 3))
    }

    @Test func regressionMetricsEqualScikitLearn() {
        let yr: [Double] = [3.0, -0.5, 2.0, 7.0, 4.2]
        let pr: [Double] = [2.5, 0.0, 2.0, 8.0, 3.9]
        #expect(abs(Metrics.mse(yr, pr) - 0.318) < 1e-9)
        #expect(abs(Metrics.mae(yr, pr) - 0.4600000000000001) < 1e-9)
        #expect(abs(Metrics.r2(yr, pr) - 0.9480256276150627) < 1e-9)
        #expect(abs(Metrics.residualStandardDeviation(yr, pr) - 0.5462600113499065) < 1e-9)
        #expect(abs(Metrics.rmse(yr, pr) - 0.318.squareRoot()) < 1e-12)
    }

    @Test func multiclassMetricsEqualScikitLearn() {
        let yc: [Double] = [0, 1, 2, 2, 1, 0, 2]
        let pc: [Double] = [0, 2, 2, 2, 1, 1, 0]
        #expect(abs(Metrics.multiclassAccuracy(yc, pc) - 0.5714285714285714) < 1e-9)
        #expect(abs(Metrics.macroF1(yc, pc) - 0.5555555555555555) < 1e-9)
    }

    @Test func aucIsUndefinedWithOneClass() {
        #expect(Metrics.rocAUC([1, 1], [0.2, 0.4]) == nil)
    }

    @Test func reportsHaveSageMakersShape() {
        let report = Metrics.regressionReport([1, 2, 3], [1, 2, 4])
        #expect(report["regression_metrics"]?["mse"]?["value"] != nil)
        #expect(report["regression_metrics"]?["r2"]?["value"] != nil)
        #expect(Metrics.binaryReport(y, s)["binary_classification_metrics"]?["auc"]?["value"] == 0.76)
    }
}
