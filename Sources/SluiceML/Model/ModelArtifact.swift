import Foundation
import SluiceCore

/// Sluice's one model file: self-describing JSON with a format name and version.
public struct ModelArtifact: Sendable, Codable, Equatable {
    /// The version this build writes and the only one it reads.
    public static let currentVersion = 1
    public static let formatName = "sluice-model"

    public var format: String = ModelArtifact.formatName
    public var version: Int = ModelArtifact.currentVersion
    /// Raw input columns, in order, that a caller provides (before transforms).
    public var inputColumns: [String]
    /// Columns fed to the algorithm after the transforms, in order.
    public var features: [String]
    public var label: String?
    public var transforms: [FittedTransform]
    /// `linear`, `logistic`, `gbdt`, `random_forest` or `mlp`.
    public var algorithm: String
    public var linear: LinearModel?
    public var logistic: LogisticModel?
    public var gbdt: GBDTModel?
    public var mlp: MLPModel?
    /// A classifier over more than two classes (softmax, `multi:softprob` GBDT, or random forest).
    public var multiclass: MulticlassModel?
    /// Options the model was trained with, as given.
    public var parameters: [String: String]
    public var training: TrainingInfo

    /// Where and how the model was trained.
    @MemberwiseInit
    public struct TrainingInfo: Sendable, Codable, Equatable {
        public var rows: Int
        public var trainedAt: String
        public var metrics: [String: Double] = [:]
    }

    public init(
        inputColumns: [String], features: [String], label: String?, transforms: [FittedTransform], algorithm: String,
        linear: LinearModel? = nil, logistic: LogisticModel? = nil, gbdt: GBDTModel? = nil,
        parameters: [String: String] = [:], training: TrainingInfo
    ) {
        self.inputColumns = inputColumns
        self.features = features
        self.label = label
        self.transforms = transforms
        self.algorithm = algorithm
        self.linear = linear
        self.logistic = logistic
        self.gbdt = gbdt
        self.parameters = parameters
        self.training = training
    }

    /// Predictions (values, class-1 probabilities, or class labels of a multiclass model) for raw rows of a frame
    /// holding `inputColumns`.
    public func predict(_ frame: Frame) throws(MLError) -> [Double] {
        try predict(matrix: featureMatrix(frame))
    }

    /// The feature matrix of raw rows (every transform applied). Rows to predict on have no label, so a `select`
    /// fitted on training rows keeps the label only when the rows have it.
    public func featureMatrix(_ frame: Frame) throws(MLError) -> Matrix {
        var data = frame
        for transform in transforms {
            if case .select(let columns) = transform, let label, columns.contains(label), !data.names.contains(label) {
                data = try FittedTransform.select(columns: columns.filter { $0 != label }).apply(data)
            } else {
                data = try transform.apply(data)
            }
        }
        return try data.matrix(features)
    }

    /// Predictions for an already transformed feature matrix (columns = `features`).
    public func predict(matrix x: Matrix) throws(MLError) -> [Double] {
        guard x.cols == features.count else {
            throw MLError(
                .shapeMismatch,
                "rows have \(x.cols) values; the model takes \(features.count) (\(features.joined(separator: ", ")))")
        }
        if let multiclass { return multiclass.predictClass(x) }
        if let linear { return linear.predict(x) }
        if let logistic { return logistic.predictProbability(x) }
        if let gbdt { return gbdt.predict(x) }
        if let mlp { return mlp.predict(x) }
        throw MLError(.invalidModel, "the model file has no parameters for algorithm '\(algorithm)'")
    }

    /// JSON bytes of the artifact.
    public func encoded() throws(MLError) -> [UInt8] {
        do {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            encoder.nonConformingFloatEncodingStrategy = .convertToString(
                positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
            return Array(try encoder.encode(self))
        } catch {
            throw MLError(.invalidModel, "cannot encode the model: \(error)")
        }
    }

    /// Writes the artifact to `path`.
    public func save(to path: String) throws(MLError) {
        let bytes = try encoded()
        guard FileManager.default.createFile(atPath: path, contents: Data(bytes)) else {
            throw MLError(.io, "cannot write the model file", file: path)
        }
    }

    /// Reads a model file, refusing other formats and versions with a clear error.
    public static func load(path: String) throws(MLError) -> ModelArtifact {
        try decode(CSVReader.readFile(path), source: path)
    }

    /// Decodes model JSON bytes.
    public static func decode(_ bytes: [UInt8], source: String = "<model>") throws(MLError) -> ModelArtifact {
        struct Header: Decodable {
            var format: String?
            var version: Int?
        }
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(
            positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        let data = Data(bytes)
        guard let header = try? decoder.decode(Header.self, from: data) else {
            throw MLError(.invalidModel, "not a JSON model file", file: source)
        }
        guard header.format == formatName else {
            throw MLError(
                .invalidModel,
                "format is '\(header.format ?? "none")', expected '\(formatName)'; is this a Sluice model?",
                file: source)
        }
        guard header.version == currentVersion else {
            throw MLError(
                .unknownVersion,
                "model format version \(header.version.map(String.init) ?? "none") is not supported by this build "
                    + "(it reads version \(currentVersion)); retrain the model or use a matching Sluice", file: source)
        }
        do {
            return try decoder.decode(ModelArtifact.self, from: data)
        } catch {
            throw MLError(.invalidModel, "the model file is damaged: \(error)", file: source)
        }
    }
}
