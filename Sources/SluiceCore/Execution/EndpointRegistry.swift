/// One model behind an endpoint stage, as recorded in the deployment history.
@MemberwiseInit
public struct DeployedVariant: Hashable, Sendable, Codable {
    /// The variant name returned in `x-Amzn-Invoked-Production-Variant`, e.g. `AllTraffic`.
    public var name: String
    /// The model package group.
    public var group: String
    /// The version number in the group.
    public var version: Int
    /// Relative share of the live traffic (ignored for the shadow).
    public var weight: Double = 1
    /// Whether the variant only sees a copy of the traffic (its answers are captured, never returned).
    public var isShadow: Bool = false

    /// `Group/N`.
    public var reference: String { "\(group)/\(version)" }
}

/// What changed an endpoint stage.
public enum DeploymentAction: String, Hashable, Sendable, Codable, CaseIterable {
    case deploy, promote, rollback, traffic
}

/// One entry of an endpoint stage's append-only deployment history: the full variant set it put in place, who,
/// when and why.
@MemberwiseInit
public struct DeploymentRecord: Hashable, Sendable, Codable {
    /// Increasing identifier; the highest of a stage is its current deployment.
    public var id: Int64
    public var endpoint: String
    public var stage: String
    public var action: DeploymentAction
    public var variants: [DeployedVariant]
    public var by: String
    public var reason: String
    /// Seconds since 1970.
    public var time: Double
    /// For a promotion, the stage copied from.
    public var sourceStage: String?
    /// For a rollback, the deployment whose variant set was restored.
    public var restoredID: Int64?
}

/// An endpoint and its serving settings.
@MemberwiseInit
public struct EndpointRecord: Hashable, Sendable, Codable {
    public var name: String
    /// Percentage (0…100) of requests captured under `.sluice/capture/<endpoint>/…`.
    public var capturePercentage: Double
    public var createdAt: Double
    /// Predict-by-id: where the endpoint reads a record's features; nil = off.
    public var featureLookup: FeatureLookup?
}

/// A deployment request the user can fix: an unknown endpoint or version, an unapproved version, bad weights.
public struct EndpointError: SluiceError, Hashable, Sendable {
    /// What kind of refusal it is, so callers can word the fix for their own surface.
    public enum Code: String, Hashable, Sendable, CustomStringConvertible {
        case unknownEndpoint, unknownStage, unknownVersion, unknownVariant, unapprovedVersion, invalidDeployment
        case nothingToRollBack

        public var description: String { rawValue }
    }
    public var code: Code
    public var description: String

    public init(_ code: Code, _ description: String) {
        self.code = code
        self.description = description
    }

    public var message: String { description }
}

/// Endpoints and their deployments as the engine, the CLI and the server see them; every method is one transaction.
///
/// Each change appends a `DeploymentRecord` holding the stage's whole variant set; the latest record of a stage is
/// what it serves. Conformers refuse versions that are not `Approved` unless `allowUnapproved` is true, and
/// report refusals as `EndpointError`.
public protocol EndpointRegistry: Sendable {
    /// Puts `variant` on `stage` of `endpoint` (created on first use): alone when `replacing`, else beside the
    /// current variants (replacing one of the same name, or the shadow when `variant.isShadow`).
    func deploy(
        endpoint: String, stage: String, variant: DeployedVariant, replacing: Bool, allowUnapproved: Bool,
        capturePercentage: Double?, by: String, reason: String, now: Double
    ) throws -> DeploymentRecord
    /// Copies the variant set of stage `from` to stage `to`.
    func promote(
        endpoint: String, from: String, to: String, allowUnapproved: Bool, by: String, reason: String, now: Double
    ) throws -> DeploymentRecord
    /// Restores the variant set the stage had before its current deployment; repeated, it walks further back.
    func rollback(endpoint: String, stage: String, by: String, reason: String, now: Double) throws -> DeploymentRecord
    /// Changes the weights of named variants of a stage, keeping the models.
    func setTraffic(
        endpoint: String, stage: String, weights: [String: Double], by: String, reason: String, now: Double
    ) throws -> DeploymentRecord
    /// Every endpoint, by name.
    func endpoints() throws -> [EndpointRecord]
    /// The current deployment of every endpoint stage, by endpoint then stage.
    func currentDeployments() throws -> [DeploymentRecord]
    /// The history of an endpoint (one stage, or all when nil), oldest first.
    func deploymentHistory(endpoint: String, stage: String?) throws -> [DeploymentRecord]
    /// The deployment `stage` of `endpoint` served at `time`, nil if it was not deployed yet.
    func deployment(endpoint: String, stage: String, at time: Double) throws -> DeploymentRecord?
    /// Turns predict-by-id on (or, with nil, off) for an existing endpoint.
    func setFeatureLookup(endpoint: String, _ lookup: FeatureLookup?) throws
}

/// The quota counts of one API key: requests admitted in a UTC day and in a UTC month. The server keeps them in the
/// store, so a restart does not hand out a fresh quota.
@MemberwiseInit
public struct KeyUsage: Hashable, Sendable {
    public var keyID: String
    /// Days since 1970-01-01 (UTC).
    public var day: Int
    public var dayCount: Int
    /// `year × 12 + month − 1` (UTC).
    public var month: Int
    public var monthCount: Int
}
