import Foundation
import Logging
import SluiceCore
import SluiceML
import SluiceServing
import SluiceStore
import Synchronization

/// A registered model file served as a predictor: Sluice's model JSON, its transforms applied to each request.
struct ArtifactPredictor: Predictor {
    let artifact: ModelArtifact
    let source: String

    var inputWidth: Int { artifact.inputColumns.count }
    var outputWidth: Int { 1 }

    func predict(_ rows: FeatureRows) throws -> [Double] {
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
            throw CLIError(
                "\(source) predicts \(output.count / max(rows.rowCount, 1)) numbers per row; serving takes 1")
        }
        return output
    }
}

/// Loads registered model artifacts (a `model.json` file, or a folder holding one) as predictors.
struct ModelArtifactLoader: PredictorLoader {
    func loadPredictor(at artifact: String) throws -> any Predictor {
        var path = artifact
        var isFolder: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isFolder), isFolder.boolValue {
            path += "/model.json"
        }
        let model = try ModelArtifact.load(path: path)
        // The common case gets the allocation-free linear kernel.
        if let linear = model.linear, model.transforms.isEmpty, linear.coefficients.count == model.inputColumns.count {
            return LinearPredictor(coefficients: linear.coefficients, intercept: linear.intercept)
        }
        return ArtifactPredictor(artifact: model, source: path)
    }
}

/// The store as the server's source of endpoints and API keys: deployments from the deployment history, models from
/// the registry's artifacts (loaded once per content hash), keys as hashes.
final class StoreServingSource: EndpointSource, APIKeySource {
    let store: SQLiteStore
    let artifacts: ArtifactStore
    let loader: any PredictorLoader
    private let predictors = Mutex<[String: any Predictor]>([:])

    init(store: SQLiteStore, artifacts: ArtifactStore, loader: any PredictorLoader = ModelArtifactLoader()) {
        self.store = store
        self.artifacts = artifacts
        self.loader = loader
    }

    func deployments() async throws -> [(endpoint: String, stage: StageName, deployment: StageDeployment)] {
        let capture = Dictionary(uniqueKeysWithValues: try store.endpoints().map { ($0.name, $0.capturePercentage) })
        return try store.currentDeployments().map {
            (
                $0.endpoint, StageName(rawValue: $0.stage),
                try stageDeployment($0, capturePercentage: capture[$0.endpoint] ?? 0)
            )
        }
    }

    func apiKeys() async throws -> [APIKeyRecord] { try keyRecords() }

    /// Every stored key as the serving keyring holds it.
    func keyRecords() throws -> [APIKeyRecord] {
        try store.apiKeys().map { key in
            let plan = key.rate.map {
                UsagePlan(
                    rate: $0, burst: key.burst ?? max(1, Int(min($0, 1e9))), dailyQuota: key.dailyQuota,
                    monthlyQuota: key.monthlyQuota)
            }
            let quotaOnly =
                plan == nil && (key.dailyQuota != nil || key.monthlyQuota != nil)
                ? UsagePlan(
                    rate: .greatestFiniteMagnitude, burst: Int.max / 2, dailyQuota: key.dailyQuota,
                    monthlyQuota: key.monthlyQuota) : nil
            return APIKeyRecord(
                id: key.id, name: key.name, hash: Self.bytes(hex: key.hashHex), plan: plan ?? quotaOnly,
                revoked: key.revokedAt != nil, endpoint: key.endpoint)
        }
    }

    /// The live form of one stored deployment, its models loaded (or reused when already loaded).
    func stageDeployment(_ record: DeploymentRecord, capturePercentage: Double) throws -> StageDeployment {
        var live: [Variant] = []
        var shadow: Variant?
        for deployed in record.variants {
            let variant = Variant(
                name: deployed.name, weight: deployed.weight, predictor: try predictor(deployed),
                modelVersion: deployed.reference)
            if deployed.isShadow { shadow = variant } else { live.append(variant) }
        }
        return StageDeployment(variants: live, shadow: shadow, capturePercentage: capturePercentage)
    }

    /// Forgets loaded models that no current deployment uses, so a long-running server does not keep every model it
    /// ever served.
    func forgetUnused(_ current: [DeploymentRecord]) throws {
        var used: Set<String> = []
        for variant in current.flatMap(\.variants) {
            if let version = try store.modelVersion(group: variant.group, version: variant.version) {
                used.insert(version.artifactHash)
            }
        }
        predictors.withLock { $0 = $0.filter { used.contains($0.key) } }
    }

    /// How many models are loaded.
    var loadedModelCount: Int { predictors.withLock { $0.count } }

    private func predictor(_ variant: DeployedVariant) throws -> any Predictor {
        guard let version = try store.modelVersion(group: variant.group, version: variant.version) else {
            throw CLIError("\(variant.reference) is not in the registry")
        }
        if let loaded = predictors.withLock({ $0[version.artifactHash] }) { return loaded }
        var path = version.artifactPath
        if !FileManager.default.fileExists(atPath: path) {
            // The copy in the execution folder is gone; read the content-addressed one.
            path = artifacts.location(of: version.artifactHash)
        }
        let predictor: any Predictor
        do {
            predictor = try loader.loadPredictor(at: path)
        } catch {
            throw CLIError("cannot load the model of \(variant.reference) from \(path): \(error)")
        }
        predictors.withLock { $0[version.artifactHash] = predictor }
        return predictor
    }

    static func bytes(hex: String) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(hex.utf8.count / 2)
        var high: UInt8?
        for character in hex.utf8 {
            let nibble: UInt8 =
                switch character {
                case 0x30...0x39: character - 0x30
                case 0x61...0x66: character - 0x61 + 10
                case 0x41...0x46: character - 0x41 + 10
                default: 0
                }
            if let value = high {
                bytes.append(value << 4 | nibble)
                high = nil
            } else {
                high = nibble
            }
        }
        return bytes
    }

    static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        text.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0xF)])
        }
        return String(decoding: text, as: UTF8.self)
    }
}

/// Keeps a running server's endpoint table and keyring in step with the store: a cheap counter read decides whether
/// anything changed; changed stages are rebuilt and swapped in whole, so in-flight requests finish on the model
/// they started with.
final class ServingSync: Sendable {
    let source: StoreServingSource
    let table: EndpointTable
    let keyring: APIKeyring
    let logger: Logger

    private struct Applied: Equatable {
        var deploymentID: Int64
        var capturePercentage: Double
    }
    private struct State {
        var counter: Int64 = -1
        var applied: [String: Applied] = [:]
    }
    private let state = Mutex(State())

    init(source: StoreServingSource, table: EndpointTable, keyring: APIKeyring, logger: Logger) {
        self.source = source
        self.table = table
        self.keyring = keyring
        self.logger = logger
    }

    /// Reloads what changed since the last call; returns whether the store had changed.
    @discardableResult
    func refresh() throws -> Bool {
        try state.withLock { state throws -> Bool in
            let counter = try source.store.servingChangeCounter()
            guard counter != state.counter else { return false }
            keyring.replaceAll(with: try source.keyRecords())
            let capture = Dictionary(
                uniqueKeysWithValues: try source.store.endpoints().map { ($0.name, $0.capturePercentage) })
            var seen: Set<String> = []
            let current = try source.store.currentDeployments()
            for record in current {
                let key = record.endpoint + "\u{0}" + record.stage
                seen.insert(key)
                let applied = Applied(deploymentID: record.id, capturePercentage: capture[record.endpoint] ?? 0)
                guard state.applied[key] != applied else { continue }
                // Marked applied even when loading fails, so a broken model is reported once, not every poll.
                state.applied[key] = applied
                do {
                    let deployment = try source.stageDeployment(record, capturePercentage: applied.capturePercentage)
                    table.deploy(endpoint: record.endpoint, stage: StageName(rawValue: record.stage), deployment)
                    let variants = record.variants.map { "\($0.name)=\($0.reference)" }.joined(separator: ", ")
                    logger.info(
                        "deployed \(record.endpoint) (\(record.stage)): \(variants)",
                        metadata: ["endpoint": .string(record.endpoint), "deployment": .stringConvertible(record.id)])
                } catch {
                    logger.error(
                        "\(record.endpoint) (\(record.stage)) keeps its previous models: \(error)",
                        metadata: ["endpoint": .string(record.endpoint)])
                }
            }
            for key in state.applied.keys where !seen.contains(key) {
                let parts = key.split(separator: "\u{0}", maxSplits: 1).map(String.init)
                table.remove(endpoint: parts[0], stage: StageName(rawValue: parts[1]))
                state.applied[key] = nil
            }
            try source.forgetUnused(current)
            state.counter = counter
            return true
        }
    }
}
