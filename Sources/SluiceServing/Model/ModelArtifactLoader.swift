import Foundation
import SluiceCore
import SluiceML

/// A registered model file served as a predictor: Sluice's model JSON, its transforms applied to each request.
@MemberwiseInit
public struct ArtifactPredictor: Predictor {
    public let artifact: ModelArtifact
    /// Where the model was read from, for messages.
    public let source: String

    public var inputWidth: Int { artifact.inputColumns.count }
    public var outputWidth: Int { 1 }
    public var inputNames: [String]? { artifact.inputColumns }

    public func predict(_ rows: FeatureRows) throws -> [Double] {
        let output: [Double]
        if artifact.transforms.isEmpty {
            output = try artifact.predict(
                matrix: Matrix(rows: rows.rowCount, cols: rows.columnCount, values: rows.values))
        } else {
            let columns = (0..<rows.columnCount).map { column in
                Column.numeric((0..<rows.rowCount).map { rows.values[$0 * rows.columnCount + column] })
            }
            output = try artifact.predict(Frame(names: artifact.inputColumns, columns: columns, source: source))
        }
        guard output.count == rows.rowCount else {
            throw ServingError(
                .modelError,
                "\(source) predicts \(output.count / max(rows.rowCount, 1)) numbers per row; serving takes 1")
        }
        return output
    }
}

/// Loads registered model artifacts (a `model.json` file, or a folder holding one) as predictors.
public struct ModelArtifactLoader: PredictorLoader {
    public init() {}

    public func loadPredictor(at artifact: String) throws -> any Predictor {
        var path = artifact
        var isFolder: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isFolder), isFolder.boolValue {
            path += "/model.json"
        }
        let model = try ModelArtifact.load(path: path)
        // The common case gets the allocation-free linear kernel.
        if let linear = model.linear, model.transforms.isEmpty, linear.coefficients.count == model.inputColumns.count {
            return LinearPredictor(
                coefficients: linear.coefficients, intercept: linear.intercept, inputNames: model.inputColumns)
        }
        return ArtifactPredictor(artifact: model, source: path)
    }
}
