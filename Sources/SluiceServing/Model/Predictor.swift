/// Rows of numeric features laid out row after row in one flat array.
public struct FeatureRows: Sendable, Equatable {
    /// The values, `rowCount × columnCount` of them, row-major.
    public var values: [Double]
    /// Number of rows.
    public var rowCount: Int
    /// Number of features per row.
    public var columnCount: Int

    /// Wraps `values` as `rowCount` rows of `columnCount` features.
    public init(values: [Double], rowCount: Int, columnCount: Int) {
        precondition(values.count == rowCount * columnCount, "values must hold rowCount × columnCount numbers")
        self.values = values
        self.rowCount = rowCount
        self.columnCount = columnCount
    }
}

/// A loaded model that turns feature rows into predictions.
///
/// Conformers must be immutable after creation (they are shared by every request in flight) and fast:
/// `predict` runs on the request's task. `inputWidth` is checked by the caller before `predict` is called,
/// so `predict` may assume `rows.columnCount == inputWidth`.
public protocol Predictor: Sendable {
    /// Number of features each input row must have.
    var inputWidth: Int { get }
    /// Number of numbers predicted per row (1 for a regressor or a binary classifier's probability).
    var outputWidth: Int { get }
    /// Predicts every row; returns `rows.rowCount × outputWidth` numbers, row-major.
    func predict(_ rows: FeatureRows) throws -> [Double]
    /// The names of the input features, in order, when the model knows them (needed to predict from a feature
    /// record); nil otherwise.
    var inputNames: [String]? { get }
}

extension Predictor {
    public var inputNames: [String]? { nil }
}

/// A linear model: `ŷ = x · coefficients + intercept`.
public struct LinearPredictor: Predictor, Equatable {
    /// One coefficient per feature.
    public let coefficients: [Double]
    /// The intercept added to every prediction.
    public let intercept: Double
    /// The feature names, when known.
    public let inputNames: [String]?

    /// Creates a linear predictor from its coefficients and intercept.
    public init(coefficients: [Double], intercept: Double, inputNames: [String]? = nil) {
        self.coefficients = coefficients
        self.intercept = intercept
        self.inputNames = inputNames
    }

    public var inputWidth: Int { coefficients.count }
    public var outputWidth: Int { 1 }

    public func predict(_ rows: FeatureRows) -> [Double] {
        let width = coefficients.count
        return [Double](unsafeUninitializedCapacity: rows.rowCount) { output, initialized in
            rows.values.withUnsafeBufferPointer { x in
                coefficients.withUnsafeBufferPointer { w in
                    for row in 0..<rows.rowCount {
                        var sum = 0.0
                        let base = row * width
                        for j in 0..<width { sum += x[base + j] * w[j] }
                        output[row] = sum + intercept
                    }
                }
            }
            initialized = rows.rowCount
        }
    }
}

/// Turns a stored model artifact into a predictor (implemented next to the model format; used by deploys).
public protocol PredictorLoader: Sendable {
    /// Loads the model at `artifact` (a file or folder written by a training step).
    func loadPredictor(at artifact: String) throws -> any Predictor
}
