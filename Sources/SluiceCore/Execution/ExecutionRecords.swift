/// Where an execution stands. `queued` waits for a slot under `Pipeline.maxConcurrentExecutions`.
public enum ExecutionStatus: String, Hashable, Sendable, Codable, CaseIterable {
    case queued, running, succeeded, failed, cancelled

    public var isFinished: Bool { self == .succeeded || self == .failed || self == .cancelled }
}

/// Where a step stands within one execution.
///
/// `caught` is a failure routed by a `catch` rule (it resolves its dependents instead of failing the execution).
/// `waiting` is a step between attempts (retry backoff) or waiting for a decision or a time.
public enum StepStatus: String, Hashable, Sendable, Codable, CaseIterable {
    case pending, running, waiting, succeeded, failed, caught, skipped, cancelled

    /// Whether the step will not change any more in this execution (until a retry of the execution).
    public var isResolved: Bool {
        switch self {
        case .succeeded, .failed, .caught, .skipped, .cancelled: true
        case .pending, .running, .waiting: false
        }
    }

    /// The legal transitions, as data: the store refuses any other (compare-and-set on the current status).
    public static let transitions: [StepStatus: Set<StepStatus>] = [
        .pending: [.running, .waiting, .succeeded, .skipped, .cancelled, .failed],
        .running: [.succeeded, .failed, .caught, .waiting, .running, .cancelled],
        .waiting: [.running, .cancelled, .failed, .caught, .succeeded],
        // Retrying an execution resets unfinished or failed steps (and with `--from`, succeeded ones) to pending.
        .succeeded: [.pending],
        .failed: [.pending],
        .caught: [.pending],
        .skipped: [.pending],
        .cancelled: [.pending],
    ]

    public func canTransition(to next: StepStatus) -> Bool { Self.transitions[self]?.contains(next) ?? false }
}

/// How one attempt of a step ended.
public enum AttemptStatus: String, Hashable, Sendable, Codable, CaseIterable {
    /// Started and not yet finished; after a crash, `interrupted` once the execution is resumed.
    case running, succeeded, failed, interrupted, cancelled
}

/// An execution as stored.
@MemberwiseInit
public struct ExecutionRecord: Hashable, Sendable, Codable {
    public var id: String
    public var pipelineName: String
    /// The content hash of the validated pipeline JSON: the pipeline version.
    public var pipelineHash: String
    public var parameters: [String: JSONValue]
    public var status: ExecutionStatus
    public var error: StepFailure?
    public var createdAt: Double
    public var startedAt: Double?
    public var finishedAt: Double?
    public var ownerPID: Int?
    public var leaseExpiresAt: Double?
    public var cancelRequested: Bool = false
}

/// One step of one execution as stored: its latest state.
@MemberwiseInit
public struct StepRecord: Hashable, Sendable, Codable {
    public var name: String
    public var status: StepStatus = .pending
    /// The number of the latest attempt (0 before the first).
    public var attempt: Int = 0
    public var outputs: [String: JSONValue]?
    public var conditionResult: Bool?
    public var error: StepFailure?
    /// The step a `catch` rule routed this step's failure to.
    public var caughtBy: String?
    public var cacheKey: String?
    public var cacheHit: Bool = false
    /// When a waiting step is due (retry backoff, wait step, approval deadline), in seconds since 1970.
    public var dueAt: Double?
    public var startedAt: Double?
    public var finishedAt: Double?
}

/// One attempt of a step as stored.
@MemberwiseInit
public struct AttemptRecord: Hashable, Sendable, Codable {
    public var step: String
    public var number: Int
    public var status: AttemptStatus
    public var startedAt: Double
    public var finishedAt: Double?
    public var error: StepFailure?
    public var workDirectory: String?
    /// What became of the attempt's process when another driver took the execution over (nil: never taken over).
    public var takeover: AttemptTakeover?
}

/// What happened to a running attempt's process when its driver died and another took the execution over.
public enum AttemptTakeover: String, Hashable, Sendable, Codable, CaseIterable {
    /// Its process was still running (or had finished with its exit status saved): it was followed to its end and
    /// its outputs collected; it was not run again.
    case adopted
    /// Its process was still running but could not be followed: its process group was killed before the next
    /// attempt started.
    case killed
    /// Nothing of it was running any more: the next attempt started at once.
    case gone
}

/// The process an attempt started: its process group (the leader's pid) and the leader's start time, which tells a
/// reused pid apart.
@MemberwiseInit
public struct AttemptProcess: Hashable, Sendable, Codable {
    /// The process group id, which is the pid of the group's leader.
    public var group: Int32
    /// The leader's start time in clock ticks since boot (`/proc/<pid>/stat`, field 22); 0 when unknown.
    public var startTime: UInt64
    /// The folder the process runs in (the attempt's work directory, or a Map iteration's).
    public var workDirectory: String
}

/// One line of an execution's append-only event log.
@MemberwiseInit
public struct ExecutionEvent: Hashable, Sendable, Codable {
    public var sequence: Int64 = 0
    public var time: Double
    public var step: String?
    public var attempt: Int?
    public var kind: String
    public var message: String
}
