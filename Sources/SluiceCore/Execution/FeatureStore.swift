/// The type of one feature, in SageMaker Feature Store's names.
public enum FeatureType: String, Hashable, Sendable, Codable, CaseIterable {
    case integral = "Integral"
    case fractional = "Fractional"
    case string = "String"
}

/// One feature of a group: its name and type.
@MemberwiseInit
public struct FeatureDefinition: Hashable, Sendable, Codable {
    public var name: String
    public var type: FeatureType
}

/// A feature group: records keyed by `recordIdentifier`, versioned by `eventTime`.
///
/// Event times are compared as text, so they are ISO-8601 dates or timestamps (`2019-07-29`, `2019-07-29T10:00Z`).
@MemberwiseInit
public struct FeatureGroup: Hashable, Sendable, Codable {
    public var name: String
    /// The feature holding each record's id (W3: `id`).
    public var recordIdentifier: String
    /// The feature holding each record's event time (W3: `loan_date`).
    public var eventTime: String
    public var features: [FeatureDefinition]
    /// Whether the latest record of each id is served by the online read.
    public var onlineStore: Bool
    public var createdAt: Double
}

/// One record of a feature group: an id, an event time and the feature values (missing features are absent).
@MemberwiseInit
public struct FeatureRecord: Hashable, Sendable, Codable {
    public var recordID: String
    public var eventTime: String
    public var features: [String: JSONValue]
}

/// A feature-store request the user can fix: an unknown group, a definition that changed, an offline-only group.
public struct FeatureStoreError: MessageError, Hashable, Sendable {
    public static let code = "feature-store"
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// The feature store as built-in steps, the CLI and the server see it; every method is one transaction.
public protocol FeatureStore: Sendable {
    /// Creates a group, or returns the existing one when its definition is the same; a different definition of
    /// an existing name is refused with the difference.
    func createFeatureGroup(_ group: FeatureGroup) throws -> FeatureGroup
    /// One group, if it exists.
    func featureGroup(name: String) throws -> FeatureGroup?
    /// Every group, by name.
    func featureGroups() throws -> [FeatureGroup]
    /// Appends records; a record identical to one already stored is skipped. Returns how many were new.
    func putFeatureRecords(group: String, records: [FeatureRecord], now: Double) throws -> Int
    /// The online read: the record of `recordID` with the latest event time (the last written among equals).
    func latestFeatureRecord(group: String, recordID: String) throws -> FeatureRecord?
    /// The offline read: every record by id and event time, or with `asOf`, each id's latest record whose event
    /// time is at or before `asOf` (a point-in-time read).
    func featureRecords(group: String, asOf: String?) throws -> [FeatureRecord]
    /// How many records a group holds.
    func featureRecordCount(group: String) throws -> Int
}
