import Foundation
import SluiceCore
import SluiceML
import SluiceServer
import SluiceStore
import Synchronization

/// W3's API over the store: features from a feature group's online read, predictions from the model version last
/// deployed on the endpoint (any stage), loaded once per artifact.
final class StoreCreditRisk: CreditRiskBackend {
    let store: SQLiteStore
    /// The feature group users are looked up in (W3: `mlops_credit_cards_risk`).
    let featureGroup: String
    private let models = Mutex<[String: ModelArtifact]>([:])

    init(store: SQLiteStore, featureGroup: String = "mlops_credit_cards_risk") {
        self.store = store
        self.featureGroup = featureGroup
    }

    func latestFeatures(userID: String) throws -> [String: JSONValue]? {
        do {
            return try store.latestFeatureRecord(group: featureGroup, recordID: userID)?.features
        } catch let error as FeatureStoreError {
            throw CreditRiskError(.notFound, error.description)
        }
    }

    func predict(endpoint: String, features: [String: JSONValue]) throws -> Double {
        let deployed = try store.currentDeployments().filter { $0.endpoint == endpoint }.max { $0.time < $1.time }
        guard let deployment = deployed, let variant = deployment.variants.first(where: { !$0.isShadow }) else {
            throw CreditRiskError(
                .notFound, "no model is deployed on endpoint '\(endpoint)'; list endpoints with `sluice endpoints list`"
            )
        }
        guard let version = try store.modelVersion(group: variant.group, version: variant.version) else {
            throw CreditRiskError(.failed, "endpoint '\(endpoint)' serves \(variant.group)/\(variant.version), missing")
        }
        let model = try artifact(at: version.artifactPath)
        let columns = model.inputColumns.map { name in
            Column.numeric([features[name]?.number ?? .nan])
        }
        do {
            let frame = Frame(names: model.inputColumns, columns: columns, source: "user features")
            guard let prediction = try model.predict(frame).first else {
                throw CreditRiskError(.failed, "\(variant.group)/\(variant.version) returned no prediction")
            }
            return prediction
        } catch let error as MLError {
            throw CreditRiskError(.failed, "\(variant.group)/\(variant.version): \(error)")
        }
    }

    private func artifact(at path: String) throws -> ModelArtifact {
        if let cached = models.withLock({ $0[path] }) { return cached }
        var file = path
        var isFolder: ObjCBool = false
        if FileManager.default.fileExists(atPath: file, isDirectory: &isFolder), isFolder.boolValue {
            file += "/model.json"
        }
        let model: ModelArtifact
        do {
            model = try ModelArtifact.load(path: file)
        } catch {
            throw CreditRiskError(.failed, "cannot load the model at \(file): \(error)")
        }
        models.withLock { $0[path] = model }
        return model
    }
}
