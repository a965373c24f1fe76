import SluiceCore
import SluiceML
import Testing

/// breast_cancer.csv, split as the peer benchmark does: first ⌊0.8·569⌋ = 455 rows train, last 114 holdout.
/// Reference AUCs measured with scikit-learn 1.9.1 / XGBoost 3.2.0 on this split:
/// `LogisticRegression(solver='lbfgs', max_iter=1000)` on StandardScaler features → 0.9991258741258742;
/// `XGBClassifier(tree_method='hist', n_estimators=100, max_depth=6, n_jobs=2)` on raw features → 0.9991258741258742.
@Suite struct ClassifierTests {
    func data() throws -> (frame: Frame, features: [String], train: [Int], test: [Int], y: [Double]) {
        let frame = try CSVReader.read(path: fixture("breast_cancer.csv"))
        let parts = Split.positional(rows: frame.rowCount, first: frame.rowCount * 8 / 10)
        return (frame, Array(frame.names.dropLast()), parts[0], parts[1], try frame.numbers("target"))
    }

    @Test func logisticRegressionAUCMatchesScikitLearn() throws {
        let d = try data()
        let scaler = try FittedTransform.fit(
            TransformSpec(kind: "standardize", columns: d.features), on: d.frame.rows(d.train))
        let x = try scaler.apply(d.frame).matrix(d.features)
        let model = try LogisticRegression.fit(x.rows(d.train), d.train.map { d.y[$0] })
        let auc = try #require(Metrics.rocAUC(d.test.map { d.y[$0] }, model.predictProbability(x.rows(d.test))))
        #expect(abs(auc - 0.9991258741258742) <= 0.005)
    }

    @Test func gbdtAUCMatchesXGBoost() throws {
        let d = try data()
        let x = try d.frame.matrix(d.features)
        var parameters = GBDTParameters()
        parameters.objective = "binary:logistic"
        let model = try GBDT.fit(x.rows(d.train), d.train.map { d.y[$0] }, parameters: parameters)
        #expect(model.trees.count == 100)
        let auc = try #require(Metrics.rocAUC(d.test.map { d.y[$0] }, model.predict(x.rows(d.test))))
        #expect(abs(auc - 0.9991258741258742) <= 0.005)
    }

    @Test func gbdtRegressionFitsAStepFunctionAndEarlyStops() throws {
        let xs = (0..<400).map { Double($0) / 40 }
        let y = xs.map { $0 < 5 ? 1.0 : 3.0 }
        let x = Matrix(columns: [xs], rows: xs.count)
        var parameters = GBDTParameters()
        parameters.numRound = 200
        parameters.earlyStoppingRounds = 5
        let model = try GBDT.fit(x, y, parameters: parameters, validation: (x, y))
        #expect(model.trees.count < 200)
        #expect(Metrics.mse(y, model.predict(x)) < 1e-4)
    }

    /// Above 20,000 rows each tree level is one pass split between two threads: the result must not depend on how
    /// the threads were scheduled (a race would show as two different models), and it must learn what one thread
    /// learns. Missing values, row subsampling and feature subsampling are all in play.
    @Test func threadedTreeGrowthIsDeterministicAndMatchesOneThread() throws {
        var rng = SplitMix64(seed: 7)
        let n = 30_000
        let d = 6
        var values = [Double](repeating: 0, count: n * d)
        var y = [Double](repeating: 0, count: n)
        for i in 0..<n {
            for j in 0..<d { values[i * d + j] = rng.nextUnit() < 0.05 ? .nan : rng.nextUnit() }
            let a = values[i * d].isNaN ? 0.5 : values[i * d]
            let b = values[i * d + 1].isNaN ? 0.2 : values[i * d + 1]
            y[i] = a + b * b + 0.3 * rng.nextUnit() > 0.9 ? 1 : 0
        }
        let x = Matrix(rows: n, cols: d, values: values)
        let train = x.rows(0..<24_000)
        let yTrain = Array(y[0..<24_000])
        var parameters = GBDTParameters()
        parameters.objective = "binary:logistic"
        parameters.numRound = 15
        parameters.maxDepth = 4
        parameters.subsample = 0.8
        parameters.colsampleBytree = 0.7
        parameters.threads = 2
        let first = try GBDT.fit(train, yTrain, parameters: parameters)
        let second = try GBDT.fit(train, yTrain, parameters: parameters)
        #expect(first == second)
        parameters.threads = 1
        let single = try GBDT.fit(train, yTrain, parameters: parameters)
        let holdout = x.rows(24_000..<n)
        let yHoldout = Array(y[24_000...])
        let twoThreads = try #require(Metrics.rocAUC(yHoldout, first.predict(holdout)))
        let oneThread = try #require(Metrics.rocAUC(yHoldout, single.predict(holdout)))
        #expect(twoThreads > 0.9 && abs(twoThreads - oneThread) < 0.002, "\(twoThreads) vs \(oneThread)")
    }

    @Test func xgboostOptionsArriveAsStrings() throws {
        let p = try GBDTParameters(options: ["objective": "reg:logistic", "num_round": "5", "eta": "0.1"])
        #expect(p.numRound == 5 && p.eta == 0.1 && p.objective == "reg:logistic")
        #expect(throws: MLError.self) { try GBDTParameters(options: ["max_depth": "deep"]) }
        #expect(throws: MLError.self) { try GBDTParameters(options: ["objective": "multi:softmax"]) }
    }
}

@Suite struct ModelAndTransformTests {
    @Test func artifactRoundTripsAndRefusesOtherVersions() throws {
        let frame = try CSVReader.parse(Array("a,b,y\n1,x,3\n2,y,5\nNA,x,7\n".utf8))
        let imputed = try FittedTransform.fit(
            TransformSpec(kind: "impute", columns: ["a"], strategy: "median"), on: frame)
        #expect(imputed == .imputeNumber(columns: ["a"], values: [1.5]))
        let onehot = try FittedTransform.fit(TransformSpec(kind: "onehot", columns: ["b"]), on: frame)
        let transformed = try onehot.apply(imputed.apply(frame))
        #expect(transformed.names == ["a", "b_x", "b_y", "y"])
        let artifact = ModelArtifact(
            inputColumns: ["a", "b"], features: ["a", "b_x", "b_y"], label: "y", transforms: [imputed, onehot],
            algorithm: "linear", linear: LinearModel(coefficients: [2, 10, 20], intercept: 1),
            training: .init(rows: 3, trainedAt: "2026-01-01T00:00:00Z"))
        let loaded = try ModelArtifact.decode(try artifact.encoded())
        #expect(loaded == artifact)
        // An unknown category gives all-zero one-hot columns.
        let raw = try CSVReader.parse(Array("a,b\n1,z\n,x\n".utf8))
        #expect(try loaded.predict(raw) == [3, 1 + 3 + 10])
        var future = artifact
        future.version = 99
        #expect {
            try ModelArtifact.decode(try future.encoded())
        } throws: { error in
            (error as? MLError)?.kind == .unknownVersion && "\(error)".contains("99")
        }
    }

    @Test func allMissingColumnCannotBeStandardised() throws {
        let frame = try CSVReader.parse(Array("a,b\n,1\n,2\n".utf8), source: "f.csv")
        #expect {
            try FittedTransform.fit(TransformSpec(kind: "standardize", columns: ["a"]), on: frame)
        } throws: { error in
            let e = error as? MLError
            return e?.kind == .allMissing && e?.column == "a" && e?.file == "f.csv"
        }
    }

    @Test func splitsAreSeededAndStratified() throws {
        let parts = try Split.ratios(rows: 100, [0.7, 0.15, 0.15], seed: 7)
        #expect(parts.map(\.count) == [70, 15, 15])
        #expect(Set(parts.flatMap { $0 }).count == 100)
        #expect(
            try Split.ratios(rows: 100, [0.7, 0.3], seed: 7)[0] == Split.ratios(rows: 100, [0.7, 0.3], seed: 7)[0])
        let labels = (0..<100).map { Double($0 % 4 == 0 ? 1 : 0) }
        let strat = try Split.stratified(labels: labels, [0.8, 0.2], seed: 1)
        #expect(strat[1].filter { labels[$0] == 1 }.count == 5)
    }
}

@Suite struct RandomForestTests {
    @Test func forestClassifiesBreastCancerAndRegressesASine() throws {
        let frame = try CSVReader.read(path: fixture("breast_cancer.csv"))
        let x = try frame.matrix(Array(frame.names.dropLast()))
        let y = try frame.numbers("target")
        let parts = try Split.stratified(labels: y, [0.7, 0.3], seed: 123)
        var parameters = RandomForestParameters()
        parameters.nEstimators = 25
        let model = try RandomForest.fit(x.rows(parts[0]), parts[0].map { y[$0] }, parameters: parameters)
        let p = model.predict(x.rows(parts[1]))
        #expect(p.allSatisfy { $0 >= -1e-12 && $0 <= 1 + 1e-12 })
        #expect(try #require(Metrics.rocAUC(parts[1].map { y[$0] }, p)) > 0.97)
        let xs = (0..<300).map { Double($0) / 50 }
        let sine = Matrix(columns: [xs], rows: xs.count)
        let target = xs.map { ($0).sinApprox }
        let regression = try RandomForest.fit(sine, target, parameters: parameters)
        #expect(Metrics.r2(target, regression.predict(sine)) > 0.95)
    }
}

extension Double {
    /// sin by its Taylor series around the nearest multiple of 2π (tests need no libm import).
    fileprivate var sinApprox: Double {
        let twoPi = 2 * Double.pi
        var v = self - (self / twoPi).rounded() * twoPi
        if v > .pi / 2 { v = .pi - v } else if v < -.pi / 2 { v = -.pi - v }
        let v2 = v * v
        return v * (1 - v2 / 6 * (1 - v2 / 20 * (1 - v2 / 42 * (1 - v2 / 72))))
    }
}
