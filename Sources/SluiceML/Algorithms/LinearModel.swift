import SluiceCore

/// A fitted linear model: prediction = x·coefficients + intercept.
@MemberwiseInit
public struct LinearModel: Sendable, Codable, Equatable {
    public var coefficients: [Double]
    public var intercept: Double

    /// Predictions for every row of `x`.
    public func predict(_ x: Matrix) -> [Double] {
        precondition(x.cols == coefficients.count, "feature count differs from the model's")
        let d = x.cols
        var out = [Double](repeating: 0, count: x.rows)
        out.withUnsafeMutableBufferPointer { o in
            x.values.withUnsafeBufferPointer { xv in
                coefficients.withUnsafeBufferPointer { w in
                    for i in 0..<x.rows {
                        var s = intercept
                        for j in 0..<d { s += xv[i * d + j] * w[j] }
                        o[i] = s
                    }
                }
            }
        }
        return out
    }
}

/// How a closed-form fit was solved (Cholesky normally; eigen pseudo-inverse for a singular design).
public enum LinearSolver: String, Sendable, Codable {
    case cholesky, pseudoInverse
}

/// Linear regression: ordinary least squares, ridge, lasso / elastic net, and W1's batch gradient descent.
public enum LinearRegression {
    /// Ordinary least squares (with `l2` > 0: ridge, intercept not penalised) via the Gram matrix and Cholesky;
    /// a singular or ill-conditioned design falls back to the minimum-norm solution (documented fallback).
    public static func fit(_ x: Matrix, _ y: [Double], l2: Double = 0, intercept: Bool = true) throws(MLError)
        -> (model: LinearModel, solver: LinearSolver)
    {
        try checkInputs(x, y)
        var (xtx, xty, p) = LinearAlgebra.gram(x, y, intercept: intercept)
        let d = x.cols
        if l2 > 0 { for j in 0..<d { xtx[j * p + j] += l2 } }
        // Centre to improve conditioning: solve on the intercept-eliminated system.
        if intercept {
            let n = Double(x.rows)
            let mean = (0..<d).map { xtx[$0 * p + d] / n }
            let yMean = xty[d] / n
            var c = [Double](repeating: 0, count: d * d)
            var cy = [Double](repeating: 0, count: d)
            for j in 0..<d {
                for k in 0..<d { c[j * d + k] = xtx[j * p + k] - n * mean[j] * mean[k] }
                cy[j] = xty[j] - n * mean[j] * yMean
            }
            let (w, solver) = solve(c, cy, p: d)
            var b = yMean
            for j in 0..<d { b -= w[j] * mean[j] }
            return (LinearModel(coefficients: w, intercept: b), solver)
        }
        let (w, solver) = solve(xtx, xty, p: p)
        return (LinearModel(coefficients: w, intercept: 0), solver)
    }

    private static func solve(_ a: [Double], _ b: [Double], p: Int) -> ([Double], LinearSolver) {
        if p == 0 { return ([], .cholesky) }
        if let w = LinearAlgebra.choleskySolve(a, b, p: p) { return (w, .cholesky) }
        return (LinearAlgebra.pseudoInverseSolve(a, b, p: p).x, .pseudoInverse)
    }

    /// How batch gradient descent evaluates the full-batch gradient Xᵀ(Xw + b − y).
    public enum GradientEvaluation: String, Sendable, Codable {
        /// One fused pass over the rows per iteration.
        case dataPass
        /// From XᵀX, Xᵀ1, Xᵀy and Σy accumulated once: the same gradient (up to rounding) in O(d²) per iteration.
        case sufficientStatistics
    }

    /// Batch gradient descent on mean squared error from (w0, b0):
    /// δ = y − ŷ, w −= lr·(−2·Xᵀδ/n), b −= lr·(−2·mean δ) — the update of W1 and of the peer benchmark.
    public static func gradientDescent(
        _ x: Matrix, _ y: [Double], learningRate: Double, iterations: Int, initialWeights: [Double]? = nil,
        initialIntercept: Double = 0, evaluation: GradientEvaluation = .sufficientStatistics
    ) throws(MLError) -> LinearModel {
        try checkInputs(x, y)
        let n = x.rows
        let d = x.cols
        var w = initialWeights ?? [Double](repeating: 0, count: d)
        guard w.count == d else {
            throw MLError(.shapeMismatch, "\(w.count) initial weights given for \(d) features")
        }
        var b = initialIntercept
        if evaluation == .sufficientStatistics {
            let (xtx, xty, p) = LinearAlgebra.gram(x, y, intercept: true)
            let scale = 2 / Double(n)
            var gradient = [Double](repeating: 0, count: d)
            for _ in 0..<iterations {
                // Xᵀr = XᵀX·w + b·Xᵀ1 − Xᵀy and Σr = (Xᵀ1)·w + n·b − Σy, with r = Xw + b − y.
                var sumR = -xty[d] + xtx[d * p + d] * b
                for j in 0..<d {
                    var g = xtx[j * p + d] * b - xty[j]
                    for k in 0..<d { g += xtx[j * p + k] * w[k] }
                    gradient[j] = g
                    sumR += xtx[j * p + d] * w[j]
                }
                for j in 0..<d { w[j] -= learningRate * scale * gradient[j] }
                b -= learningRate * scale * sumR
            }
            guard w.allSatisfy({ $0.isFinite }), b.isFinite else {
                throw MLError(
                    .nonFinite,
                    "gradient descent diverged (weights are not finite); lower the learning rate "
                        + "or standardise the features")
            }
            return LinearModel(coefficients: w, intercept: b)
        }
        let parts = chunkRanges(n, parts: n > 20_000 ? defaultThreadCount : 1)
        var partial = [Double](repeating: 0, count: parts.count * (d + 1))
        for _ in 0..<iterations {
            let wb = UncheckedBox((w, b))
            partial.withUnsafeMutableBufferPointer { acc in
                let acc = UncheckedBox(acc)
                parallelFor(parts.count) { t in
                    let (w, b) = wb.value
                    let a = acc.value.baseAddress! + t * (d + 1)
                    for j in 0...d { a[j] = 0 }
                    x.values.withUnsafeBufferPointer { xv in
                        y.withUnsafeBufferPointer { yv in
                            w.withUnsafeBufferPointer { wv in
                                for i in parts[t] {
                                    let row = xv.baseAddress! + i * d
                                    var s = b
                                    for j in 0..<d { s += row[j] * wv[j] }
                                    let r = s - yv[i]
                                    for j in 0..<d { a[j] += r * row[j] }
                                    a[d] += r
                                }
                            }
                        }
                    }
                }
            }
            let scale = 2 / Double(n)
            for j in 0..<d {
                var g = 0.0
                for t in 0..<parts.count { g += partial[t * (d + 1) + j] }
                w[j] -= learningRate * scale * g
            }
            var gb = 0.0
            for t in 0..<parts.count { gb += partial[t * (d + 1) + d] }
            b -= learningRate * scale * gb
        }
        guard w.allSatisfy(\.isFinite), b.isFinite else {
            throw MLError(
                .nonFinite,
                "gradient descent diverged (weights are not finite); lower the learning rate "
                    + "or standardise the features")
        }
        return LinearModel(coefficients: w, intercept: b)
    }

    /// Elastic net by cyclic coordinate descent on (1/2n)‖y − Xw − b‖² + α·(ρ‖w‖₁ + (1−ρ)/2‖w‖²)
    /// (scikit-learn's `ElasticNet(alpha, l1_ratio)`; ρ = 1 is the lasso).
    public static func elasticNet(
        _ x: Matrix, _ y: [Double], alpha: Double, l1Ratio: Double = 1, maxIterations: Int = 1000,
        tolerance: Double = 1e-7
    ) throws(MLError) -> LinearModel {
        try checkInputs(x, y)
        let n = x.rows
        let d = x.cols
        let cols = (0..<d).map { x.column($0) }
        let means = cols.map { $0.reduce(0, +) / Double(n) }
        let yMean = y.reduce(0, +) / Double(n)
        let centred = (0..<d).map { j in cols[j].map { $0 - means[j] } }
        let norms = centred.map { c in c.reduce(0) { $0 + $1 * $1 } / Double(n) }
        var residual = y.map { $0 - yMean }
        var w = [Double](repeating: 0, count: d)
        let l1 = alpha * l1Ratio
        let l2 = alpha * (1 - l1Ratio)
        for _ in 0..<maxIterations {
            var maxChange = 0.0
            for j in 0..<d where norms[j] > 0 {
                let c = centred[j]
                var rho = 0.0
                for i in 0..<n { rho += c[i] * residual[i] }
                rho = rho / Double(n) + norms[j] * w[j]
                let updated = softThreshold(rho, l1) / (norms[j] + l2)
                let change = updated - w[j]
                if change != 0 {
                    for i in 0..<n { residual[i] -= change * c[i] }
                    w[j] = updated
                    maxChange = max(maxChange, abs(change))
                }
            }
            if maxChange < tolerance { break }
        }
        var b = yMean
        for j in 0..<d { b -= w[j] * means[j] }
        return LinearModel(coefficients: w, intercept: b)
    }

    private static func softThreshold(_ value: Double, _ threshold: Double) -> Double {
        value > threshold ? value - threshold : value < -threshold ? value + threshold : 0
    }

    static func checkInputs(_ x: Matrix, _ y: [Double]) throws(MLError) {
        guard x.rows > 0 else { throw MLError(.emptyFile, "no training rows; check the split and the data file") }
        guard x.rows == y.count else {
            throw MLError(.shapeMismatch, "\(x.rows) feature rows but \(y.count) labels")
        }
        if let i = x.values.firstIndex(where: { !$0.isFinite }) {
            throw MLError(
                .nonFinite,
                "training row \(i / x.cols + 1), feature \(i % x.cols + 1) is missing or not finite; impute it "
                    + "(data.transform impute) or drop the row")
        }
        if let i = y.firstIndex(where: { !$0.isFinite }) {
            throw MLError(.nonFinite, "training row \(i + 1): the label is missing or not finite")
        }
    }
}
