/// Standardisation of a row-major matrix: mean and population standard deviation of chosen rows.
public struct MatrixScaler: Sendable, Codable, Equatable {
    public var mean: [Double]
    public var scale: [Double]

    /// Fits on rows `range` of `x`.
    public init(fitting x: Matrix, rows range: Range<Int>) {
        let d = x.cols
        var sum = [Double](repeating: 0, count: d)
        var sumSquares = [Double](repeating: 0, count: d)
        x.values.withUnsafeBufferPointer { v in
            for i in range { for j in 0..<d { sum[j] += v[i * d + j] } }
            let n = Double(range.count)
            let m = sum.map { $0 / n }
            for i in range {
                for j in 0..<d {
                    let c = v[i * d + j] - m[j]
                    sumSquares[j] += c * c
                }
            }
        }
        mean = sum.map { $0 / Double(max(1, range.count)) }
        scale = sumSquares.map { s in
            let std = (s / Double(max(1, range.count))).squareRoot()
            return std == 0 ? 1 : std
        }
    }

    /// The standardised matrix.
    public func apply(_ x: Matrix) -> Matrix {
        var out = x
        let d = x.cols
        let inverse = scale.map { 1 / $0 }
        out.values.withUnsafeMutableBufferPointer { v in
            for i in 0..<x.rows { for j in 0..<d { v[i * d + j] = (v[i * d + j] - mean[j]) * inverse[j] } }
        }
        return out
    }
}
