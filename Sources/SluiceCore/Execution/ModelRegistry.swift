/// Whether a registered model version may be deployed.
public enum ModelApprovalStatus: String, Hashable, Sendable, Codable, CaseIterable {
    case pendingManualApproval = "PendingManualApproval"
    case approved = "Approved"
    case rejected = "Rejected"

    /// The allowed spellings, for error messages.
    public static var allowedValues: String { allCases.map(\.rawValue).joined(separator: ", ") }
}

/// A model version to register: its artifact, metrics, lineage and approval status. The registry gives it its number.
@MemberwiseInit
public struct NewModelVersion: Hashable, Sendable, Codable {
    public var group: String
    /// Where the artifact is kept (a content-addressed copy).
    public var artifactPath: String
    /// `sha256:` digest of the artifact.
    public var artifactHash: String
    public var metrics: JSONValue?
    public var status: ModelApprovalStatus
    public var executionID: String?
    public var stepName: String?
    /// Content hashes of the data the model was derived from, by input name.
    public var inputHashes: [String: String] = [:]
    public var createdAt: Double
}

/// A registered model version, `group/version`: what was registered, and its number. The registration's fields read
/// as the record's own (`record.artifactHash`, `record.status`).
@MemberwiseInit
@dynamicMemberLookup
public struct ModelVersionRecord: Hashable, Sendable, Codable {
    public var registration: NewModelVersion
    /// Numbered from 1 per group.
    public var version: Int

    public subscript<Value>(dynamicMember field: WritableKeyPath<NewModelVersion, Value>) -> Value {
        get { registration[keyPath: field] }
        set { registration[keyPath: field] = newValue }
    }

    /// `Group/N`.
    public var reference: String { "\(registration.group)/\(version)" }
}

/// A model package group and how many versions it holds.
@MemberwiseInit
public struct ModelGroupRecord: Hashable, Sendable, Codable {
    public var name: String
    public var versionCount: Int
    public var createdAt: Double
}

/// One line of the registry's append-only audit log.
@MemberwiseInit
public struct ModelEventRecord: Hashable, Sendable, Codable {
    public var sequence: Int64
    public var group: String
    public var version: Int?
    /// `registered`, `approved`, `rejected`, `pending` or `alias`.
    public var kind: String
    /// For alias moves, the alias name.
    public var alias: String?
    public var by: String
    public var reason: String
    public var time: Double
}

/// A registry problem the user can fix (unknown group or version).
public struct ModelRegistryError: MessageError, Hashable, Sendable {
    public static let code = "model-registry"
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// The model registry as the engine and built-in steps see it; every method is one transaction.
public protocol ModelRegistry: Sendable {
    /// Registers a new version, numbered from 1 per group (the group is created on first use); `by` (a user name or
    /// `execution <id>`) goes to the audit log.
    func registerModelVersion(_ version: NewModelVersion, by: String) throws -> ModelVersionRecord
    /// Changes a version's approval status and appends who, when and why to the audit log.
    func setApprovalStatus(
        group: String, version: Int, status: ModelApprovalStatus, by: String, reason: String, now: Double
    ) throws -> ModelVersionRecord
    /// The highest-numbered version of a group, optionally only among versions with `status`.
    func latestModelVersion(group: String, status: ModelApprovalStatus?) throws -> ModelVersionRecord?
    /// One version, if it exists.
    func modelVersion(group: String, version: Int) throws -> ModelVersionRecord?
    /// Every version of a group, oldest first.
    func modelVersions(group: String) throws -> [ModelVersionRecord]
    /// Every group, by name.
    func modelGroups() throws -> [ModelGroupRecord]
    /// Points `alias` (e.g. `champion`) of a group at a version, recording the move.
    func setAlias(group: String, alias: String, version: Int, by: String, reason: String, now: Double) throws
    /// The version an alias points at.
    func aliasedVersion(group: String, alias: String) throws -> ModelVersionRecord?
    /// The audit log of a group, oldest first.
    func modelEvents(group: String) throws -> [ModelEventRecord]
}
