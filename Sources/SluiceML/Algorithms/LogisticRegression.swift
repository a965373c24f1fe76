import SluiceCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A fitted binary logistic model: P(y = 1) = σ(x·coefficients + intercept).
@MemberwiseInit
public struct LogisticModel: Sendable, Codable, Equatable {
    public var coefficients: [Double]
    public var intercept: Double

    /// Probabilities of class 1 for every row.
    public func predictProbability(_ x: Matrix) -> [Double] {
        LinearModel(coefficients: coefficients, intercept: intercept).predict(x).map(sigmoid)
    }
}

@inline(__always)
func sigmoid(_ z: Double) -> Double { 1 / (1 + exp(-z)) }

/// L2-regularised logistic regression by Newton's method (scikit-learn's objective with `C`:
/// Σ log-loss + ‖w‖²/(2C), intercept not penalised).
public enum LogisticRegression {
    public static func fit(
        _ x: Matrix, _ y: [Double], c: Double = 1, maxIterations: Int = 100, tolerance: Double = 1e-10
    )
        throws(MLError) -> LogisticModel
    {
        try LinearRegression.checkInputs(x, y)
        if let bad = y.firstIndex(where: { $0 != 0 && $0 != 1 }) {
            throw MLError(.invalidOption, "training row \(bad + 1): label \(y[bad]) is not 0 or 1")
        }
        let n = x.rows
        let d = x.cols
        let p = d + 1
        let lambda = c > 0 ? 1 / c : 0
        var beta = [Double](repeating: 0, count: p)
        let parts = chunkRanges(n, parts: n > 20_000 ? defaultThreadCount : 1)
        for _ in 0..<maxIterations {
            var partial = [[Double]](repeating: [], count: parts.count)
            let current = beta
            partial.withUnsafeMutableBufferPointer { out in
                let out = UncheckedBox(out)
                parallelFor(parts.count) { t in
                    var acc = [Double](repeating: 0, count: p * p + p)
                    var row = [Double](repeating: 1, count: p)
                    x.values.withUnsafeBufferPointer { xv in
                        for i in parts[t] {
                            var z = current[d]
                            for j in 0..<d {
                                row[j] = xv[i * d + j]
                                z += row[j] * current[j]
                            }
                            let prob = sigmoid(z)
                            let g = prob - y[i]
                            let h = max(prob * (1 - prob), 1e-12)
                            for j in 0..<p {
                                let hj = h * row[j]
                                for k in j..<p { acc[j * p + k] += hj * row[k] }
                                acc[p * p + j] += g * row[j]
                            }
                        }
                    }
                    out.value[t] = acc
                }
            }
            var (hessian, gradient) = LinearAlgebra.sumUpperTriangles(partial, p: p)
            for j in 0..<d {
                hessian[j * p + j] += lambda
                gradient[j] += lambda * beta[j]
            }
            let step =
                LinearAlgebra.choleskySolve(hessian, gradient, p: p, tolerance: 1e-14)
                ?? LinearAlgebra.pseudoInverseSolve(hessian, gradient, p: p).x
            var largest = 0.0
            for j in 0..<p {
                beta[j] -= step[j]
                largest = max(largest, abs(step[j]))
            }
            guard beta.allSatisfy({ $0.isFinite }) else {
                throw MLError(
                    .nonFinite, "logistic regression diverged (separable data?); lower C to regularise more")
            }
            if largest < tolerance * max(1, beta.map(abs).max() ?? 1) { break }
        }
        return LogisticModel(coefficients: Array(beta[0..<d]), intercept: beta[d])
    }
}
