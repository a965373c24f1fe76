import Foundation
import SluiceML
import Testing

/// wine.csv is scikit-learn's wine set (178 rows, 13 features, classes 0/1/2) written by Fixtures/gen_wine.py with
/// its rows reordered: the first 124 are the training part, the last 54 the test part of
/// `train_test_split(test_size=0.3, stratify=y, random_state=0)`. Test accuracies measured by that script with
/// scikit-learn 1.9.1 / XGBoost 3.2.0 on this split:
/// `LogisticRegression(C=1, max_iter=10000)` (multinomial) on StandardScaler features → 1.0;
/// `XGBClassifier(objective='multi:softprob', tree_method='hist', n_estimators=100, max_depth=6)` → 0.9814814814814815;
/// `RandomForestClassifier(n_estimators=100, random_state=0)` → 1.0.
@Suite struct MulticlassTests {
    static let logisticAccuracy = 1.0
    static let xgboostAccuracy = 0.9814814814814815
    static let forestAccuracy = 1.0

    func data() throws -> (x: Matrix, y: [Double], train: [Int], test: [Int]) {
        let frame = try CSVReader.read(path: fixture("wine.csv"))
        let features = Array(frame.names.dropLast())
        let parts = Split.positional(rows: frame.rowCount, first: 124)
        let scaler = try FittedTransform.fit(
            TransformSpec(kind: "standardize", columns: features), on: frame.rows(parts[0]))
        return (try scaler.apply(frame).matrix(features), try frame.numbers("target"), parts[0], parts[1])
    }

    func accuracy(_ model: MulticlassModel, _ d: (x: Matrix, y: [Double], train: [Int], test: [Int])) -> Double {
        Metrics.multiclassAccuracy(d.test.map { d.y[$0] }, model.predictClass(d.x.rows(d.test)))
    }

    @Test func softmaxRegressionMatchesScikitLearnAccuracy() throws {
        let d = try data()
        let model = try SoftmaxRegression.fit(d.x.rows(d.train), d.train.map { d.y[$0] })
        #expect(model.classes == [0, 1, 2])
        #expect(abs(accuracy(model, d) - Self.logisticAccuracy) <= 0.02)
        let p = model.probabilities(d.x.rows(d.test))
        for i in 0..<p.rows { #expect(abs((0..<3).reduce(0.0) { $0 + p[i, $1] } - 1) < 1e-12) }
    }

    /// The penalised optimum is unique, so the fit matches scikit-learn's to many digits, not just in accuracy:
    /// `LogisticRegression(C=1, tol=1e-12, max_iter=100000)` gives test log loss 0.04164250360767891 and
    /// intercepts 0.3686274789524234, 0.7803623926202731, −1.1489898715726998 (gen_wine.py prints them).
    @Test func softmaxRegressionReachesScikitLearnsOptimum() throws {
        let d = try data()
        let model = try SoftmaxRegression.fit(d.x.rows(d.train), d.train.map { d.y[$0] })
        let p = model.probabilities(d.x.rows(d.test))
        let logLoss = -d.test.enumerated().reduce(0.0) { $0 + log(p[$1.offset, Int(d.y[$1.element])]) } / 54
        #expect(abs(logLoss - 0.04164250360767891) < 1e-6)
        let intercepts = try #require(model.intercepts)
        for (mine, theirs) in zip(intercepts, [0.3686274789524234, 0.7803623926202731, -1.1489898715726998]) {
            #expect(abs(mine - theirs) < 1e-5)
        }
    }

    @Test func softmaxGradientVanishesAtTheOptimum() throws {
        // At the L2-penalised optimum, Σ (p − onehot)·x + W/C = 0 for every weight: check it numerically.
        let d = try data()
        let x = d.x.rows(d.train)
        let y = d.train.map { d.y[$0] }
        let model = try SoftmaxRegression.fit(x, y, c: 0.5)
        let p = model.probabilities(x)
        let weights = try #require(model.weights)
        var largest = 0.0
        for k in 0..<3 {
            for j in 0..<x.cols {
                var g = weights[k * x.cols + j] / 0.5
                for i in 0..<x.rows { g += (p[i, k] - (y[i] == Double(k) ? 1 : 0)) * x[i, j] }
                largest = max(largest, abs(g))
            }
        }
        #expect(largest < 1e-4)
    }

    @Test func gbdtSoftprobMatchesXGBoostAccuracy() throws {
        let d = try data()
        var parameters = GBDTParameters()
        parameters.numRound = 100
        let model = try MulticlassGBDT.fit(
            d.x.rows(d.train), d.train.map { d.y[$0] }, numClass: 3, parameters: parameters)
        #expect(model.perClass?.count == 3 && model.perClass?.first?.trees.count == 100)
        #expect(abs(accuracy(model, d) - Self.xgboostAccuracy) <= 0.04)
    }

    @Test func gbdtRejectsLabelsOutsideNumClass() throws {
        let x = Matrix(columns: [[1, 2, 3, 4]], rows: 4)
        #expect(throws: MLError.self) { try MulticlassGBDT.fit(x, [0, 1, 2, 3], numClass: 3) }
        do {
            _ = try MulticlassGBDT.fit(x, [0, 1, 2, 1.5], numClass: 3)
        } catch {
            #expect(error.message.contains("training row 4") && error.message.contains("num_class"))
        }
    }

    @Test func randomForestHandlesThreeClasses() throws {
        let d = try data()
        var parameters = RandomForestParameters()
        parameters.nEstimators = 50
        let model = try MulticlassRandomForest.fit(d.x.rows(d.train), d.train.map { d.y[$0] }, parameters: parameters)
        #expect(abs(accuracy(model, d) - Self.forestAccuracy) <= 0.04)
    }

    @Test func multiclassArtifactRoundTripsAndPredictsLabels() throws {
        let d = try data()
        let model = try SoftmaxRegression.fit(d.x.rows(d.train), d.train.map { d.y[$0] })
        let features = (1...13).map { "f\($0)" }
        var artifact = ModelArtifact(
            inputColumns: features, features: features, label: "target", transforms: [], algorithm: "logistic",
            training: .init(rows: d.train.count, trainedAt: "now"))
        artifact.multiclass = model
        let loaded = try ModelArtifact.decode(try artifact.encoded())
        #expect(loaded == artifact)
        #expect(try loaded.predict(matrix: d.x.rows(d.test)) == model.predictClass(d.x.rows(d.test)))
    }

    /// Expected values from scikit-learn 1.9.1 on these arrays (gen_wine.py prints them):
    /// f1 / precision / recall with `average='macro'` and `'weighted'`, `zero_division=0`.
    @Test func multiclassMetricsEqualScikitLearn() {
        let y: [Double] = [0, 1, 2, 2, 1, 0, 3, 3, 1, 2]
        let p: [Double] = [0, 2, 2, 2, 1, 1, 3, 0, 1, 4]
        #expect(abs(Metrics.multiclassAccuracy(y, p) - 0.6) < 1e-9)
        #expect(abs(Metrics.macroF1(y, p) - 0.4999999999999999) < 1e-9)
        #expect(abs(Metrics.weightedF1(y, p) - 0.6333333333333333) < 1e-9)
        let report = Metrics.multiclassReport(y, p)["multiclass_classification_metrics"]!
        #expect(abs(report["macro_f1"]!["value"]! - 0.4999999999999999) < 1e-9)
        #expect(abs(report["weighted_precision"]!["value"]! - 0.7) < 1e-9)
        #expect(abs(report["weighted_recall"]!["value"]! - 0.6) < 1e-9)
        #expect(abs(report["weighted_f1"]!["value"]! - 0.6333333333333333) < 1e-9)
    }
}
