/// What the monitor keeps in the store: baselines attached to model versions, schedules of endpoint stages, the runs
/// and their reports, and the ground truth sent for captured inferences.
///
/// Every method is one transaction. The store refuses a baseline for a version that does not exist (`StoreError`
/// `unknown-model-version`).
public protocol MonitorStoring: Sendable {
    /// Attaches (or replaces) a model version's baseline.
    func setMonitorBaseline(_ baseline: MonitorBaselineRecord) throws
    /// The baseline attached to `group/version`, if any.
    func monitorBaseline(group: String, version: Int) throws -> MonitorBaselineRecord?
    /// Every schedule, by endpoint then stage.
    func monitorSchedules() throws -> [MonitorScheduleRecord]
    /// Keeps a finished run.
    func recordMonitorRun(_ run: MonitorRunRecord) throws
    /// Runs, newest first, of one endpoint (and stage) or of all when nil.
    func monitorRuns(endpoint: String?, stage: String?, limit: Int) throws -> [MonitorRunRecord]
    /// The newest run of every endpoint stage.
    func latestMonitorRuns() throws -> [MonitorRunRecord]
    /// How many runs are kept: a cheap sign that a new one was recorded.
    func monitorRunCount() throws -> Int
    /// The ground truth of `endpoint` for the inferences `ids`, by inference id.
    func groundTruth(endpoint: String, ids: [String]) throws -> [String: JSONValue]
}

/// A model version's monitoring baseline: the artifacts of `statistics.json`, `constraints.json` and the reference
/// data the drift tests compare with.
@MemberwiseInit
public struct MonitorBaselineRecord: Hashable, Sendable {
    public var group: String
    public var version: Int
    public var statisticsHash: String
    public var constraintsHash: String
    public var referenceHash: String
    /// The features, in the order requests carry them.
    public var features: [String]
    public var createdAt: Double
}

/// A recorded monitoring schedule for an endpoint stage.
@MemberwiseInit
public struct MonitorScheduleRecord: Hashable, Sendable {
    public var endpoint: String
    public var stage: String
    public var everySeconds: Double
    /// Addresses alerted when a run finds a violation or drift.
    public var notify: [String]
    /// The model-quality settings (problem type and thresholds), when quality is monitored.
    public var quality: JSONValue?
    public var createdAt: Double
}

/// One monitoring run: the capture window it analysed and what it found.
@MemberwiseInit
public struct MonitorRunRecord: Hashable, Sendable {
    public var id: String
    public var endpoint: String
    public var stage: String
    public var group: String
    public var version: Int
    public var windowStart: Double
    public var windowEnd: Double
    public var rowCount: Int
    public var violationCount: Int
    public var driftedCount: Int
    public var datasetDrift: Bool
    /// The whole report as JSON.
    public var report: JSONValue
    /// Where its files are.
    public var folder: String
    public var createdAt: Double
    /// Model-quality thresholds crossed.
    public var qualityBreaches: Int = 0
}
