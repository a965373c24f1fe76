import Foundation
import SluiceCore
import Synchronization

/// The store as the server's source of endpoints and API keys: deployments from the deployment history, models from
/// the registry's artifacts (loaded once per content hash), keys as hashes.
public final class StoreServingSource: Sendable {
    public let store: any ServingCatalog
    let artifacts: any ArtifactLocating
    let loader: any PredictorLoader
    private let predictors = Mutex<[String: any Predictor]>([:])

    /// - Parameters:
    ///   - store: deployments, model versions and keys.
    ///   - artifacts: where a model whose copy in its execution folder is gone is read from.
    ///   - loader: turns a model file into a predictor.
    public init(
        store: any ServingCatalog, artifacts: any ArtifactLocating, loader: any PredictorLoader = ModelArtifactLoader()
    ) {
        self.store = store
        self.artifacts = artifacts
        self.loader = loader
    }

    /// Every stored key as the serving keyring holds it.
    public func keyRecords() throws -> [APIKeyRecord] {
        try store.apiKeys().map(Self.record)
    }

    /// The stored key whose hash is `hash`, as the keyring holds it; nil when there is none (or the store fails).
    public func keyRecord(hash: [UInt8]) -> APIKeyRecord? {
        (try? store.apiKey(hashHex: Hex.encode(hash))).flatMap { $0.map(Self.record) }
    }

    static func record(_ key: StoredAPIKey) -> APIKeyRecord {
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
            id: key.id, name: key.name, hash: Hex.decode(key.hashHex), plan: plan ?? quotaOnly,
            revoked: key.revokedAt != nil, endpoint: key.endpoint)
    }

    /// The live form of one stored deployment, its models loaded (or reused when already loaded).
    public func stageDeployment(_ record: DeploymentRecord, endpoint: EndpointRecord?) throws -> StageDeployment {
        var live: [Variant] = []
        var shadow: Variant?
        for deployed in record.variants {
            let variant = Variant(
                name: deployed.name, weight: deployed.weight, predictor: try predictor(deployed),
                modelVersion: deployed.reference)
            if deployed.isShadow { shadow = variant } else { live.append(variant) }
        }
        return StageDeployment(
            variants: live, shadow: shadow, capturePercentage: endpoint?.capturePercentage ?? 0,
            featureLookup: endpoint?.featureLookup)
    }

    /// Forgets loaded models that no current deployment uses, so a long-running server does not keep every model it
    /// ever served.
    public func forgetUnused(_ current: [DeploymentRecord]) throws {
        var used: Set<String> = []
        for variant in current.flatMap(\.variants) {
            if let version = try store.modelVersion(group: variant.group, version: variant.version) {
                used.insert(version.artifactHash)
            }
        }
        predictors.withLock { $0 = $0.filter { used.contains($0.key) } }
    }

    /// How many models are loaded.
    public var loadedModelCount: Int { predictors.withLock { $0.count } }

    private func predictor(_ variant: DeployedVariant) throws -> any Predictor {
        guard let version = try store.modelVersion(group: variant.group, version: variant.version) else {
            throw EndpointError(.unknownVersion, "\(variant.reference) is not in the registry")
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
            throw EndpointError(
                .invalidDeployment, "cannot load the model of \(variant.reference) from \(path): \(error)")
        }
        predictors.withLock { $0[version.artifactHash] = predictor }
        return predictor
    }
}
