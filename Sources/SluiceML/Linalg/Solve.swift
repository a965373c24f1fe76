/// Dense solvers for the small symmetric systems of least squares.
public enum LinearAlgebra {
    /// Xᵀ·X and Xᵀ·y of the design matrix [X | 1] (intercept column last when `intercept`), over 2 threads.
    public static func gram(_ x: Matrix, _ y: [Double], intercept: Bool) -> (xtx: [Double], xty: [Double], p: Int) {
        let d = x.cols
        let p = d + (intercept ? 1 : 0)
        let parts = chunkRanges(x.rows, parts: x.rows > 20_000 ? defaultThreadCount : 1)
        var partial = [[Double]](repeating: [], count: parts.count)
        partial.withUnsafeMutableBufferPointer { out in
            let out = UncheckedBox(out)
            parallelFor(parts.count) { t in
                var acc = [Double](repeating: 0, count: p * p + p)
                acc.withUnsafeMutableBufferPointer { a in
                    x.values.withUnsafeBufferPointer { xv in
                        y.withUnsafeBufferPointer { yv in
                            var row = [Double](repeating: 1, count: p)
                            row.withUnsafeMutableBufferPointer { r in
                                for i in parts[t] {
                                    for j in 0..<d { r[j] = xv[i * d + j] }
                                    let yi = yv[i]
                                    for j in 0..<p {
                                        let rj = r[j]
                                        for k in j..<p { a[j * p + k] += rj * r[k] }
                                        a[p * p + j] += rj * yi
                                    }
                                }
                            }
                        }
                    }
                }
                out.value[t] = acc
            }
        }
        let (xtx, xty) = sumUpperTriangles(partial, p: p)
        return (xtx, xty, p)
    }

    /// Sums per-thread accumulators, each the upper triangle of a p × p matrix followed by a p-vector, into the
    /// full symmetric matrix and the vector.
    static func sumUpperTriangles(_ partial: [[Double]], p: Int) -> (matrix: [Double], vector: [Double]) {
        var matrix = [Double](repeating: 0, count: p * p)
        var vector = [Double](repeating: 0, count: p)
        for acc in partial {
            for j in 0..<p {
                for k in j..<p { matrix[j * p + k] += acc[j * p + k] }
                vector[j] += acc[p * p + j]
            }
        }
        for j in 0..<p { for k in 0..<j { matrix[j * p + k] = matrix[k * p + j] } }
        return (matrix, vector)
    }

    /// Solves A·x = b for symmetric positive definite A (p × p) by Cholesky; nil when A is not
    /// numerically positive definite (relative pivot below `tolerance`).
    public static func choleskySolve(_ a: [Double], _ b: [Double], p: Int, tolerance: Double = 1e-10) -> [Double]? {
        var l = [Double](repeating: 0, count: p * p)
        let scale = (0..<p).map { a[$0 * p + $0] }.max() ?? 1
        for j in 0..<p {
            var sum = a[j * p + j]
            for k in 0..<j { sum -= l[j * p + k] * l[j * p + k] }
            guard sum > tolerance * max(scale, 1e-300), sum.isFinite else { return nil }
            let diag = sum.squareRoot()
            l[j * p + j] = diag
            for i in (j + 1)..<max(j + 1, p) {
                var s = a[i * p + j]
                for k in 0..<j { s -= l[i * p + k] * l[j * p + k] }
                l[i * p + j] = s / diag
            }
        }
        var z = b
        for i in 0..<p {
            for k in 0..<i { z[i] -= l[i * p + k] * z[k] }
            z[i] /= l[i * p + i]
        }
        for i in stride(from: p - 1, through: 0, by: -1) {
            for k in (i + 1)..<max(i + 1, p) { z[i] -= l[k * p + i] * z[k] }
            z[i] /= l[i * p + i]
        }
        return z
    }

    /// Minimum-norm-ish least squares for a rank-deficient symmetric system: eigen-decomposition (Jacobi) of
    /// A, pseudo-inverse with eigenvalues below `rcond`·max dropped. Returns the solution and the rank.
    public static func pseudoInverseSolve(_ a: [Double], _ b: [Double], p: Int, rcond: Double = 1e-12)
        -> (x: [Double], rank: Int)
    {
        var m = a
        var v = [Double](repeating: 0, count: p * p)
        for i in 0..<p { v[i * p + i] = 1 }
        for _ in 0..<100 {
            var off = 0.0
            for i in 0..<p { for j in 0..<p where i != j { off += m[i * p + j] * m[i * p + j] } }
            if off < 1e-30 { break }
            for q in 0..<p {
                for r in (q + 1)..<max(q + 1, p) {
                    let apq = m[q * p + r]
                    if abs(apq) < 1e-300 { continue }
                    let theta = (m[r * p + r] - m[q * p + q]) / (2 * apq)
                    let t = (theta >= 0 ? 1.0 : -1.0) / (abs(theta) + (theta * theta + 1).squareRoot())
                    let c = 1 / (t * t + 1).squareRoot()
                    let s = t * c
                    for k in 0..<p {
                        let mkq = m[k * p + q]
                        let mkr = m[k * p + r]
                        m[k * p + q] = c * mkq - s * mkr
                        m[k * p + r] = s * mkq + c * mkr
                    }
                    for k in 0..<p {
                        let mqk = m[q * p + k]
                        let mrk = m[r * p + k]
                        m[q * p + k] = c * mqk - s * mrk
                        m[r * p + k] = s * mqk + c * mrk
                    }
                    for k in 0..<p {
                        let vkq = v[k * p + q]
                        let vkr = v[k * p + r]
                        v[k * p + q] = c * vkq - s * vkr
                        v[k * p + r] = s * vkq + c * vkr
                    }
                }
            }
        }
        let eigen = (0..<p).map { m[$0 * p + $0] }
        let largest = eigen.map(abs).max() ?? 0
        var x = [Double](repeating: 0, count: p)
        var rank = 0
        for k in 0..<p where eigen[k] > rcond * largest {
            rank += 1
            var proj = 0.0
            for i in 0..<p { proj += v[i * p + k] * b[i] }
            proj /= eigen[k]
            for i in 0..<p { x[i] += proj * v[i * p + k] }
        }
        return (x, rank)
    }
}
