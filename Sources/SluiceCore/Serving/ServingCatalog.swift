/// A stored API key: the SHA-256 of the key (never the key), its usage plan and optional endpoint scope.
@MemberwiseInit
public struct StoredAPIKey: Hashable, Sendable {
    /// Public identifier, `key_…`.
    public var id: String
    public var name: String
    /// Lowercase hex SHA-256 of the key's UTF-8 bytes.
    public var hashHex: String
    public var createdAt: Double
    public var revokedAt: Double?
    /// Requests per second and burst of the token bucket; nil = unlimited.
    public var rate: Double?
    public var burst: Int?
    public var dailyQuota: Int?
    public var monthlyQuota: Int?
    /// The only endpoint the key may call; nil = every endpoint.
    public var endpoint: String?
}

/// Where API keys and their quota counts are kept.
///
/// A conformer stores hashes only, never keys, and makes a created key visible to `apiKey(hashHex:)` as soon as
/// `createAPIKey` returns (a server checks there before refusing a key it has not loaded yet).
public protocol APIKeyStoring: Sendable {
    /// Stores a new key record (the caller shows the key itself once and forgets it).
    func createAPIKey(_ key: StoredAPIKey) throws
    /// Every key, revoked ones included, oldest first.
    func apiKeys() throws -> [StoredAPIKey]
    /// The key whose hash is `hashHex`, nil when there is none.
    func apiKey(hashHex: String) throws -> StoredAPIKey?
    /// Revokes a key for good; returns the revocation time (the first one if it was already revoked).
    @discardableResult
    func revokeAPIKey(id: String, now: Double) throws -> Double
    /// The quota counts kept for every key that has used its plan.
    func keyUsage() throws -> [KeyUsage]
    /// Keeps quota counts (totals, so a failed save is made good by the next one).
    func saveKeyUsage(_ counts: [KeyUsage]) throws
}

/// A cheap way for a server to notice that deployments, endpoint settings or keys changed in another process.
public protocol ServingChangeCounting: Sendable {
    /// A number that changes whenever a deployment, an endpoint setting or an API key changes.
    func servingChangeCounter() throws -> Int64
}

/// Everything a server reads to serve: deployments, model versions, keys, feature records and the change counter.
public typealias ServingCatalog = EndpointRegistry & ModelRegistry & APIKeyStoring & ServingChangeCounting
    & FeatureStore

/// An endpoint's predict-by-id setting: a request names a record id, the endpoint reads that record's latest
/// features from a feature group and predicts on them.
@MemberwiseInit
public struct FeatureLookup: Hashable, Sendable, Codable {
    /// The feature group the records are read from.
    public var group: String
    /// The request body's field holding the record id (e.g. `user_id`).
    public var idField: String
    /// A further path answering the latest feature map of an id (e.g. `/invokeFeatureStore`), besides
    /// `/endpoints/{name}/{stage}/features`.
    public var featuresRoute: String?
    /// A further path answering the prediction for an id (e.g. `/invokeSagemakerAPI`), besides
    /// `/endpoints/{name}/{stage}/predict-by-id`; a body field `endpoint` (or SageMaker's `sagemaker_endpoint`)
    /// picks the endpoint when several share the path.
    public var predictRoute: String?
}

/// Where a stored artifact's content-addressed copy is.
public protocol ArtifactLocating: Sendable {
    /// The path of the artifact with content hash `hash` (it may not exist).
    func location(of hash: String) -> String
}
