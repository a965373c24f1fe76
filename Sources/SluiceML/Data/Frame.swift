/// One column of a frame: numbers (missing = NaN) or text (missing = nil).
public enum Column: Sendable, Equatable {
    case numeric([Double])
    case text([String?])

    /// Number of rows.
    public var count: Int {
        switch self {
        case .numeric(let values): values.count
        case .text(let values): values.count
        }
    }

    /// The values when the column is numeric.
    public var numbers: [Double]? {
        if case .numeric(let values) = self { values } else { nil }
    }

    /// Rows `indices` of this column.
    public func rows(_ indices: [Int]) -> Column {
        switch self {
        case .numeric(let values): .numeric(indices.map { values[$0] })
        case .text(let values): .text(indices.map { values[$0] })
        }
    }

    /// Rows in `range` of this column.
    public func rows(_ range: Range<Int>) -> Column {
        switch self {
        case .numeric(let values): .numeric(Array(values[range]))
        case .text(let values): .text(Array(values[range]))
        }
    }
}

/// A columnar table: named columns of equal length.
public struct Frame: Sendable, Equatable {
    public var names: [String]
    public var columns: [Column]
    /// Where the data came from, for error messages.
    public var source: String?

    public init(names: [String], columns: [Column], source: String? = nil) {
        precondition(names.count == columns.count, "one name per column")
        self.names = names
        self.columns = columns
        self.source = source
    }

    /// Number of rows.
    public var rowCount: Int { columns.first?.count ?? 0 }

    /// The index of a column by name, or an error naming the closest existing column.
    public func index(of name: String) throws(MLError) -> Int {
        if let index = names.firstIndex(of: name) { return index }
        throw MLError(
            .missingColumn,
            "no column '\(name)'; the columns are \(names.joined(separator: ", "))",
            file: source, column: name)
    }

    /// The named column as numbers, or an error when it holds text.
    public func numbers(_ name: String) throws(MLError) -> [Double] {
        let column = columns[try index(of: name)]
        guard let values = column.numbers else {
            throw MLError(.notNumeric, "column holds text, a number is needed", file: source, column: name)
        }
        return values
    }

    /// A frame with the given rows.
    public func rows(_ indices: [Int]) -> Frame {
        Frame(names: names, columns: columns.map { $0.rows(indices) }, source: source)
    }

    /// A frame with the rows in `range`.
    public func rows(_ range: Range<Int>) -> Frame {
        Frame(names: names, columns: columns.map { $0.rows(range) }, source: source)
    }

    /// A frame with only the named columns, in that order.
    public func selecting(_ wanted: [String]) throws(MLError) -> Frame {
        var columns: [Column] = []
        for name in wanted { columns.append(self.columns[try index(of: name)]) }
        return Frame(names: wanted, columns: columns, source: source)
    }

    /// A frame without the named columns.
    public func dropping(_ unwanted: [String]) throws(MLError) -> Frame {
        for name in unwanted { _ = try index(of: name) }
        let keep = names.filter { !unwanted.contains($0) }
        return try selecting(keep)
    }

    /// Row-major float64 matrix of the named numeric columns (n × names.count).
    public func matrix(_ featureNames: [String]) throws(MLError) -> Matrix {
        var cols: [[Double]] = []
        for name in featureNames { cols.append(try numbers(name)) }
        return Matrix(columns: cols, rows: rowCount)
    }
}
