import SluiceCore

/// What to fit: a transform kind over columns, with its options.
@MemberwiseInit
public struct TransformSpec: Sendable, Codable, Equatable {
    /// `standardize`, `minmax`, `onehot`, `impute`, `normalize_rows`, `select`, `drop`, `derive`.
    public var kind: String
    public var columns: [String]
    /// For `impute`: `mean`, `median` or `constant`.
    public var strategy: String?
    /// For `impute` with `constant`: the fill value (a number, or text for a text column).
    public var fill: String?
    /// For `derive`: the new (or replaced) column's name and the `Expression` that computes it.
    public var output: String?
    public var expression: String?
}

/// A transform fitted on training rows; applied unchanged to every later row (serving takes raw rows).
public enum FittedTransform: Sendable, Codable, Equatable {
    case standardize(columns: [String], mean: [Double], scale: [Double])
    case minMax(columns: [String], minimum: [Double], maximum: [Double])
    /// One 0/1 column `<column>_<category>` per category seen in training; unknown categories give all zeros.
    case oneHot(column: String, categories: [String])
    case imputeNumber(columns: [String], values: [Double])
    case imputeText(columns: [String], values: [String])
    case normalizeRows(columns: [String])
    case select(columns: [String])
    case drop(columns: [String])
    /// A numeric column computed per row by an `Expression` (added, or replacing a column of the same name).
    case derive(column: String, expression: String)

    /// Fits `spec` on `frame` (the training rows).
    public static func fit(_ spec: TransformSpec, on frame: Frame) throws(MLError) -> FittedTransform {
        switch spec.kind {
        case "standardize", "minmax":
            var first: [Double] = []
            var second: [Double] = []
            for name in spec.columns {
                let values = try frame.numbers(name).filter { !$0.isNaN }
                guard !values.isEmpty else {
                    throw MLError(
                        .allMissing, "every value is missing; drop the column or impute it first", file: frame.source,
                        column: name)
                }
                if spec.kind == "minmax" {
                    first.append(values.min()!)
                    second.append(values.max()!)
                } else {
                    let mean = values.reduce(0, +) / Double(values.count)
                    let std = (values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(values.count)).squareRoot()
                    first.append(mean)
                    second.append(std == 0 ? 1 : std)  // a constant column stays 0 (scikit-learn's rule)
                }
            }
            return spec.kind == "minmax"
                ? .minMax(columns: spec.columns, minimum: first, maximum: second)
                : .standardize(columns: spec.columns, mean: first, scale: second)
        case "onehot":
            guard spec.columns.count == 1 else {
                throw MLError(.invalidOption, "onehot takes one column per transform; list one transform per column")
            }
            let index = try frame.index(of: spec.columns[0])
            let categories: [String]
            switch frame.columns[index] {
            case .text(let values): categories = Set(values.compactMap { $0 }).sorted()
            case .numeric(let values): categories = Set(values.filter { !$0.isNaN }).sorted().map { formatNumber($0) }
            }
            return .oneHot(column: spec.columns[0], categories: categories)
        case "impute":
            let strategy = spec.strategy ?? "mean"
            var numbers: [Double] = []
            var texts: [String] = []
            for name in spec.columns {
                let index = try frame.index(of: name)
                switch frame.columns[index] {
                case .numeric(let values):
                    let present = values.filter { !$0.isNaN }.sorted()
                    switch strategy {
                    case "constant":
                        guard let fill = spec.fill.flatMap(parseNumber) else {
                            throw MLError(.invalidOption, "impute constant needs a numeric `fill`", column: name)
                        }
                        numbers.append(fill)
                    case "mean", "median":
                        guard !present.isEmpty else {
                            throw MLError(
                                .allMissing,
                                "every value is missing, so there is no \(strategy) to impute; "
                                    + "use strategy constant or drop the column", file: frame.source, column: name)
                        }
                        numbers.append(
                            strategy == "mean"
                                ? present.reduce(0, +) / Double(present.count)
                                : present.count % 2 == 1
                                    ? present[present.count / 2]
                                    : (present[present.count / 2 - 1] + present[present.count / 2]) / 2)
                    default:
                        throw MLError(.invalidOption, "impute strategy '\(strategy)' is not mean, median or constant")
                    }
                case .text(let values):
                    if let fill = spec.fill {
                        texts.append(fill)
                    } else {
                        var counts: [String: Int] = [:]
                        for v in values.compactMap({ $0 }) { counts[v, default: 0] += 1 }
                        guard let mode = counts.max(by: { ($0.value, $1.key) < ($1.value, $0.key) })?.key else {
                            throw MLError(.allMissing, "every value is missing", file: frame.source, column: name)
                        }
                        texts.append(mode)
                    }
                }
            }
            if !texts.isEmpty && !numbers.isEmpty {
                throw MLError(.invalidOption, "impute mixes text and numeric columns; use one transform for each")
            }
            return texts.isEmpty
                ? .imputeNumber(columns: spec.columns, values: numbers)
                : .imputeText(columns: spec.columns, values: texts)
        case "normalize_rows":
            return .normalizeRows(columns: spec.columns)
        case "select":
            return .select(columns: spec.columns)
        case "drop":
            return .drop(columns: spec.columns)
        case "derive":
            guard let output = spec.output ?? spec.columns.first, !output.isEmpty, let text = spec.expression else {
                throw MLError(
                    .invalidOption,
                    "derive needs a `name` for the new column and an `expression`, e.g. "
                        + "{kind: derive, name: bmi, expression: \"weight / height ^ 2\"}")
            }
            do {
                try Expression(text).check(against: frame)
            } catch {
                throw MLError(.invalidOption, "derived column '\(output)': \(error)", file: frame.source)
            }
            return .derive(column: output, expression: text)
        default:
            throw MLError(
                .invalidOption,
                "unknown transform '\(spec.kind)'; use standardize, minmax, onehot, impute, normalize_rows, select, drop, derive"
            )
        }
    }

    /// Applies the fitted transform to any rows with the training columns.
    public func apply(_ frame: Frame) throws(MLError) -> Frame {
        var out = frame
        switch self {
        case .standardize(let columns, let mean, let scale):
            for (k, name) in columns.enumerated() {
                let values = try frame.numbers(name)
                out.columns[try frame.index(of: name)] = .numeric(values.map { ($0 - mean[k]) / scale[k] })
            }
        case .minMax(let columns, let minimum, let maximum):
            for (k, name) in columns.enumerated() {
                let range = maximum[k] - minimum[k]
                let values = try frame.numbers(name)
                out.columns[try frame.index(of: name)] = .numeric(
                    values.map { range == 0 ? 0 : ($0 - minimum[k]) / range })
            }
        case .oneHot(let column, let categories):
            let index = try frame.index(of: column)
            let keys: [String?] =
                switch frame.columns[index] {
                case .text(let values): values
                case .numeric(let values): values.map { $0.isNaN ? nil : formatNumber($0) }
                }
            out.names.remove(at: index)
            out.columns.remove(at: index)
            for (k, category) in categories.enumerated() {
                out.names.insert("\(column)_\(category)", at: index + k)
                out.columns.insert(.numeric(keys.map { $0 == category ? 1 : 0 }), at: index + k)
            }
        case .imputeNumber(let columns, let values):
            for (k, name) in columns.enumerated() {
                out.columns[try frame.index(of: name)] = .numeric(
                    try frame.numbers(name).map { $0.isNaN ? values[k] : $0 })
            }
        case .imputeText(let columns, let values):
            for (k, name) in columns.enumerated() {
                let index = try frame.index(of: name)
                if case .text(let cells) = frame.columns[index] {
                    out.columns[index] = .text(cells.map { $0 ?? values[k] })
                }
            }
        case .normalizeRows(let columns):
            let data = try columns.map { (name) throws(MLError) in try frame.numbers(name) }
            var norms = [Double](repeating: 0, count: frame.rowCount)
            for column in data { for i in 0..<column.count { norms[i] += column[i] * column[i] } }
            for (k, name) in columns.enumerated() {
                out.columns[try frame.index(of: name)] = .numeric(
                    (0..<frame.rowCount).map { norms[$0] == 0 ? 0 : data[k][$0] / norms[$0].squareRoot() })
            }
        case .select(let columns):
            out = try frame.selecting(columns)
        case .drop(let columns):
            out = try frame.dropping(columns)
        case .derive(let column, let text):
            let values: [Double]
            do {
                values = try Expression(text).evaluate(frame)
            } catch {
                throw MLError(.invalidOption, "derived column '\(column)': \(error)", file: frame.source)
            }
            if let index = out.names.firstIndex(of: column) {
                out.columns[index] = .numeric(values)
            } else {
                out.names.append(column)
                out.columns.append(.numeric(values))
            }
        }
        return out
    }
}

/// Shortest text for a number, integers without ".0" (category keys of numeric columns).
func formatNumber(_ value: Double) -> String {
    if value == value.rounded(), abs(value) < 1e15 { return String(Int(value)) }
    return "\(value)"
}
