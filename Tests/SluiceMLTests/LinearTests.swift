import SluiceML
import Testing

@Suite struct LinearTests {
    /// W1's data: diabetes_scaled.csv, feature bmi only, first 422 rows train, last 20 test.
    func w1Data() throws -> (train: Matrix, yTrain: [Double], test: Matrix, yTest: [Double]) {
        let frame = try CSVReader.read(path: fixture("diabetes_scaled.csv"))
        let x = try frame.matrix(["bmi"])
        let y = try frame.numbers("target")
        let parts = Split.positional(rows: frame.rowCount, first: 422)
        return (x.rows(parts[0]), parts[0].map { y[$0] }, x.rows(parts[1]), parts[1].map { y[$0] })
    }

    @Test func olsMatchesTheReferenceFigures() throws {
        let d = try w1Data()
        let (model, solver) = try LinearRegression.fit(d.train, d.yTrain)
        #expect(solver == .cholesky)
        // Reference figures from ../shared/data/README.md (scikit-learn LinearRegression).
        #expect(abs(model.coefficients[0] / 938.2378612513517 - 1) < 1e-6)
        #expect(abs(model.intercept / 152.91886182616113 - 1) < 1e-6)
        let predictions = model.predict(d.test)
        #expect(abs(Metrics.r2(d.yTest, predictions) / 0.47257544798227147 - 1) < 1e-6)
        #expect(abs(Metrics.mse(d.yTest, predictions) / 2548.07239872597 - 1) < 1e-6)
    }

    @Test func w1GradientDescentIsReproduced() throws {
        let d = try w1Data()
        let model = try LinearRegression.gradientDescent(
            d.train, d.yTrain, learningRate: 0.1, iterations: 15_001, initialWeights: [1.764052345967664],
            initialIntercept: 0.4001572083672233)
        let r2 = Metrics.r2(d.yTest, model.predict(d.test))
        #expect(abs(r2 - 0.47) < 0.01)
        let at03 = model.predict(Matrix(rows: 1, cols: 1, values: [0.3]))[0]
        #expect(abs(at03 - 434.0766) < 1e-3)
    }

    @Test func allTenFeaturesMatchNormalEquationsResidualOrthogonality() throws {
        let frame = try CSVReader.read(path: fixture("diabetes_scaled.csv"))
        let features = Array(frame.names.dropLast())
        let x = try frame.matrix(features)
        let y = try frame.numbers("target")
        let (model, _) = try LinearRegression.fit(x, y)
        let residual = zip(y, model.predict(x)).map { $0 - $1 }
        // At the least-squares optimum the residual is orthogonal to every column and sums to zero.
        #expect(abs(residual.reduce(0, +)) < 1e-6)
        for j in 0..<x.cols {
            let dot = zip(x.column(j), residual).reduce(0) { $0 + $1.0 * $1.1 }
            #expect(abs(dot) < 1e-6)
        }
    }

    @Test func singularDesignFallsBackToMinimumNorm() throws {
        // Second column is twice the first: Cholesky fails, the pseudo-inverse still fits the data exactly.
        let xs: [Double] = [1, 2, 3, 4, 5]
        let x = Matrix(columns: [xs, xs.map { 2 * $0 }], rows: 5)
        let y = xs.map { 3 * $0 + 1 }
        let (model, solver) = try LinearRegression.fit(x, y)
        #expect(solver == .pseudoInverse)
        #expect(model.coefficients.allSatisfy { $0.isFinite })
        for (a, b) in zip(model.predict(x), y) { #expect(abs(a - b) < 1e-8) }
        // Minimum norm splits the slope 3 as 0.6 + 2·1.2.
        #expect(abs(model.coefficients[0] - 0.6) < 1e-8)
    }

    @Test func constantFeatureGetsZeroWeightInsteadOfNaN() throws {
        let x = Matrix(columns: [[1, 2, 3, 4], [7, 7, 7, 7]], rows: 4)
        let (model, _) = try LinearRegression.fit(x, [2, 4, 6, 8])
        #expect(abs(model.coefficients[0] - 2) < 1e-9)
        #expect(abs(model.coefficients[1]) < 1e-9)
    }

    @Test func missingValuesAreRefusedWithTheRow() {
        let x = Matrix(columns: [[1, .nan, 3]], rows: 3)
        #expect {
            try LinearRegression.fit(x, [1, 2, 3])
        } throws: { error in
            (error as? MLError)?.kind == .nonFinite && "\(error)".contains("row 2")
        }
    }

    @Test func lassoWithZeroPenaltyIsOLSAndLargePenaltyZeroes() throws {
        let frame = try CSVReader.read(path: fixture("diabetes_scaled.csv"))
        let x = try frame.matrix(["bmi", "bp", "s5"])
        let y = try frame.numbers("target")
        let ols = try LinearRegression.fit(x, y).model
        let net = try LinearRegression.elasticNet(x, y, alpha: 0, l1Ratio: 1, maxIterations: 10_000, tolerance: 1e-10)
        for (a, b) in zip(ols.coefficients, net.coefficients) { #expect(abs(a - b) < 1e-4 * abs(a)) }
        let heavy = try LinearRegression.elasticNet(x, y, alpha: 1e6)
        #expect(heavy.coefficients.allSatisfy { $0 == 0 })
    }
}

@Suite struct GradientDescentEvaluationTests {
    @Test func sufficientStatisticsAndDataPassAgree() throws {
        let frame = try CSVReader.read(path: fixture("diabetes_scaled.csv"))
        let x = try frame.matrix(["bmi", "bp", "s5"])
        let y = try frame.numbers("target")
        let a = try LinearRegression.gradientDescent(x, y, learningRate: 0.1, iterations: 2000, evaluation: .dataPass)
        let b = try LinearRegression.gradientDescent(
            x, y, learningRate: 0.1, iterations: 2000, evaluation: .sufficientStatistics)
        for (u, v) in zip(a.coefficients + [a.intercept], b.coefficients + [b.intercept]) {
            #expect(abs(u - v) <= 1e-9 * max(1, abs(u)))
        }
    }
}
