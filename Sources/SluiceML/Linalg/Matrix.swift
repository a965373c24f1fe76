/// A dense row-major float64 matrix.
public struct Matrix: Sendable, Equatable {
    public var rows: Int
    public var cols: Int
    /// Row-major values, `rows * cols` long.
    public var values: [Double]

    public init(rows: Int, cols: Int, values: [Double]) {
        precondition(values.count == rows * cols, "matrix shape does not match its values")
        self.rows = rows
        self.cols = cols
        self.values = values
    }

    public init(rows: Int, cols: Int, repeating value: Double = 0) {
        self.init(rows: rows, cols: cols, values: [Double](repeating: value, count: rows * cols))
    }

    /// Interleaves column arrays (each `rows` long) into a row-major matrix.
    public init(columns: [[Double]], rows: Int) {
        let cols = columns.count
        var values = [Double](repeating: 0, count: rows * cols)
        values.withUnsafeMutableBufferPointer { out in
            for (j, column) in columns.enumerated() {
                column.withUnsafeBufferPointer { c in
                    for i in 0..<rows { out[i * cols + j] = c[i] }
                }
            }
        }
        self.init(rows: rows, cols: cols, values: values)
    }

    public subscript(i: Int, j: Int) -> Double {
        get { values[i * cols + j] }
        set { values[i * cols + j] = newValue }
    }

    /// Rows `range` as a new matrix.
    public func rows(_ range: Range<Int>) -> Matrix {
        Matrix(
            rows: range.count, cols: cols, values: Array(values[(range.lowerBound * cols)..<(range.upperBound * cols)]))
    }

    /// The given rows as a new matrix.
    public func rows(_ indices: [Int]) -> Matrix {
        var out = [Double]()
        out.reserveCapacity(indices.count * cols)
        for i in indices { out.append(contentsOf: values[(i * cols)..<((i + 1) * cols)]) }
        return Matrix(rows: indices.count, cols: cols, values: out)
    }

    /// Column `j` as an array.
    public func column(_ j: Int) -> [Double] { (0..<rows).map { values[$0 * cols + j] } }
}
