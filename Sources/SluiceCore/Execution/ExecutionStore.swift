/// A new execution to record: its pipeline version, parameter values and steps.
@MemberwiseInit
public struct NewExecution: Sendable {
    public var id: String
    public var pipelineName: String
    public var pipelineHash: String
    /// The validated pipeline as JSON; stored once per hash.
    public var pipelineDefinition: String
    public var parameters: [String: JSONValue]
    public var stepNames: [String]
    public var maxConcurrentExecutions: Int
    public var createdAt: Double
}

/// The process driving an execution, as recorded in its lease.
@MemberwiseInit
public struct LeaseOwner: Hashable, Sendable {
    public var id: String
    public var pid: Int
}

/// The answer to a request to drive an execution.
public enum ClaimResult: Hashable, Sendable {
    case claimed
    /// The pipeline version already runs `running` executions, its limit.
    case queued(running: Int)
    /// Another live process owns the execution.
    case ownedByOther(pid: Int)
    case finished(ExecutionStatus)
    case notFound
}

/// Everything one engine step changes, applied in one transaction.
///
/// Step transitions are compare-and-set: if a step's stored status is not `from`, nothing is applied and the store
/// throws. Nothing the engine does becomes visible (a process launched, a token printed) before this commits.
public struct ExecutionChanges: Sendable {
    @MemberwiseInit
    public struct StepTransition: Sendable {
        public var from: StepStatus
        public var record: StepRecord
    }

    /// A file or folder a step attempt produced or consumed.
    @MemberwiseInit
    public struct ArtifactUse: Sendable {
        public enum Role: String, Sendable { case produced, consumed }
        public var artifact: ArtifactReference
        public var step: String
        public var attempt: Int
        public var role: Role
        public var port: String
        public var path: String
    }

    /// A pending approval: the hash of its single-use token (the token itself is never stored).
    @MemberwiseInit
    public struct NewApproval: Sendable {
        public var tokenHash: String
        public var step: String
        public var attempt: Int
        public var message: String
        public var expiresAt: Double?
    }

    public var executionID: String
    public var steps: [StepTransition] = []
    /// Attempts to insert or to update (by step and number).
    public var attempts: [AttemptRecord] = []
    public var events: [ExecutionEvent] = []
    public var artifacts: [ArtifactUse] = []
    public var approvals: [NewApproval] = []
    /// Cache entries to record: a key and the step whose succeeded outputs it names.
    public var cacheEntries: [(key: String, step: String, attempt: Int, outputs: [String: JSONValue])] = []
    /// What each new cache key was computed from, by key (`sluice run --explain-cache` compares them).
    public var cacheComponents: [String: JSONValue] = [:]
    /// Finished Map iterations: a resumed Map reuses them instead of running them again.
    public var mapItems: [MapItemRecord] = []
    /// A new status for the execution (finished ones also release the lease).
    public var executionStatus: (status: ExecutionStatus, error: StepFailure?)?
    public var now: Double

    public init(executionID: String, now: Double) {
        self.executionID = executionID
        self.now = now
    }

    public var isEmpty: Bool {
        steps.isEmpty && attempts.isEmpty && events.isEmpty && artifacts.isEmpty && approvals.isEmpty
            && cacheEntries.isEmpty && mapItems.isEmpty && executionStatus == nil
    }
}

/// One finished iteration of a Map step.
@MemberwiseInit
public struct MapItemRecord: Hashable, Sendable {
    public var step: String
    public var index: Int
    /// The hash of the item's value: a stored iteration is reused only for the same item.
    public var itemHash: String
    public var attempt: Int
    public var outputs: [String: JSONValue]
}

/// A content-addressed file or folder.
@MemberwiseInit
public struct ArtifactReference: Hashable, Sendable, Codable {
    public enum Kind: String, Hashable, Sendable, Codable { case file, folder }
    /// `sha256:` hex digest of the content (for folders, of the manifest of relative paths and file digests).
    public var hash: String
    public var kind: Kind
    public var size: Int
}

/// A decision on an approval.
public enum ApprovalDecision: Hashable, Sendable {
    case pending
    case approved
    case rejected(reason: String)
}

/// A stored approval request.
@MemberwiseInit
public struct ApprovalRecord: Hashable, Sendable {
    public var executionID: String
    public var step: String
    public var attempt: Int
    public var decision: ApprovalDecision
    public var message: String
    public var expiresAt: Double?
}

/// The durable side of the engine: what it reads and writes about executions.
///
/// A conformer applies each `ExecutionChanges` atomically and durably (committed to disk before returning), checks
/// step transitions as compare-and-set, and is safe to call from many processes at once on the same store.
public protocol ExecutionStore: Sendable {
    /// Records a new execution (status `queued`) with its pipeline version and every step `pending`.
    func createExecution(_ execution: NewExecution) throws
    /// Takes ownership of an execution: a queued one when the pipeline version has a free slot, or a running one
    /// whose owner is gone (`ownerIsAlive` says false, or its lease expired).
    func claim(
        executionID: String, owner: LeaseOwner, now: Double, leaseSeconds: Double,
        ownerIsAlive: @Sendable (Int) -> Bool
    ) throws -> ClaimResult
    /// Extends the lease; returns false when this owner lost it. `cancelRequested` reports `sluice cancel`.
    func renewLease(executionID: String, owner: LeaseOwner, now: Double, leaseSeconds: Double) throws -> (
        held: Bool, cancelRequested: Bool
    )
    func apply(_ changes: ExecutionChanges) throws
    func execution(id: String) throws -> ExecutionRecord?
    func steps(executionID: String) throws -> [StepRecord]
    func attempts(executionID: String) throws -> [AttemptRecord]
    /// The pipeline JSON stored for a version.
    func pipelineDefinition(hash: String) throws -> String?
    /// The latest approval request of a step.
    func approval(executionID: String, step: String) throws -> ApprovalRecord?
    /// The outputs of the newest succeeded attempt recorded under a cache key, not older than `notBefore`.
    func cachedOutputs(key: String, notBefore: Double?) throws -> (
        executionID: String, step: String, outputs: [String: JSONValue]
    )?
    /// The components of the newest cache key recorded for a step of this name in a pipeline of this name.
    func latestCacheComponents(step: String, pipelineName: String) throws -> JSONValue?
    /// The finished iterations of a Map step in an execution, by index.
    func mapItems(executionID: String, step: String) throws -> [Int: MapItemRecord]
    /// Commits the process an attempt started (a Map iteration's too: one per work directory).
    func recordAttemptProcess(executionID: String, step: String, attempt: Int, process: AttemptProcess) throws
    /// The processes committed for an attempt.
    func attemptProcesses(executionID: String, step: String, attempt: Int) throws -> [AttemptProcess]
}

extension ExecutionStore {
    public func latestCacheComponents(step: String, pipelineName: String) throws -> JSONValue? { nil }
    public func mapItems(executionID: String, step: String) throws -> [Int: MapItemRecord] { [:] }
}

/// Content-addressed storage for the files and folders steps produce.
public protocol ArtifactStoring: Sendable {
    /// Hashes a file or folder and keeps a copy under its content address (write, sync, rename).
    func ingest(path: String) throws -> ArtifactReference
    /// The content hash of a file or folder without storing it.
    func contentHash(path: String) throws -> ArtifactReference
}
