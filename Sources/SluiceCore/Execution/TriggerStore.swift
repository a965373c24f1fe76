/// A pipeline's trigger as enabled by `sluice triggers enable`: the pipeline version it starts and when it was enabled.
@MemberwiseInit
public struct EnabledTrigger: Hashable, Sendable {
    /// The store's id of this trigger.
    public var id: Int64
    /// `PIPELINE:N`, the pipeline's name and the trigger's 1-based position under `triggers:`.
    public var name: String
    /// The pipeline file as given to `enable`, absolute.
    public var pipelinePath: String
    public var pipelineHash: String
    /// The trigger's position (0-based) under the pipeline's `triggers:`.
    public var index: Int
    /// `-p K=V` given to `enable`, as text (they are read as the parameters' types when an execution starts).
    public var parameters: [String: String]
    /// When it was enabled (seconds since 1970): rates count from here, and only registry events after it fire.
    public var anchor: Double
    public var enabled: Bool
}

/// One firing of a trigger and the execution it started.
@MemberwiseInit
public struct TriggerFiring: Hashable, Sendable {
    public var triggerID: Int64
    /// What fired, unique per trigger: `file:PATH:sha256:…`, `schedule:SECONDS`, `model:Group/N`.
    public var key: String
    /// For a schedule, the scheduled time (seconds since 1970); nil for the others.
    public var scheduledTime: Int64?
    public var executionID: String
    public var firedAt: Double
}

/// Where enabled triggers and their firings are kept.
///
/// A conformer commits a firing and the execution it starts in one transaction, and refuses a second firing with
/// the same key for the same trigger, so each file content, scheduled time or model version starts one execution
/// even when the process is killed between the two.
public protocol TriggerStore: Sendable {
    /// Enables a pipeline version's triggers (all of `names`, by index), replacing an earlier enabling of the same
    /// pipeline path while keeping the firings of triggers at the same positions.
    /// - Parameters:
    ///   - pipeline: the version's name, hash and JSON, stored as an execution's are.
    func enableTriggers(
        pipelinePath: String, pipeline: (name: String, hash: String, definition: String), names: [String],
        parameters: [String: String], now: Double
    ) throws -> [EnabledTrigger]
    /// Disables the triggers of a pipeline path; returns how many were enabled.
    func disableTriggers(pipelinePath: String) throws -> Int
    /// Every trigger ever enabled (enabled or not), oldest first.
    func triggers() throws -> [EnabledTrigger]
    /// Records a firing and creates its execution in the same transaction; false (and nothing written) when the
    /// trigger already fired for this key.
    func recordFiring(_ firing: TriggerFiring, execution: NewExecution) throws -> Bool
    /// Whether the trigger already fired for this key.
    func hasFired(triggerID: Int64, key: String) throws -> Bool
    /// The newest firing of a trigger.
    func lastFiring(triggerID: Int64) throws -> TriggerFiring?
    /// The executions started by a trigger that have not finished.
    func unfinishedExecutions(triggerID: Int64) throws -> [String]
    /// The executions a trigger started, newest first.
    func firings(triggerName: String) throws -> [TriggerFiring]
}
