public import Foundation
public import SluiceCore
import Synchronization

/// Time as the engine sees it: now, and sleeping. Injected so tests control retries, waits and timeouts.
public protocol EngineClock: WallClock {
    func sleep(seconds: Double) async throws
}

/// The wall clock.
public struct SystemClock: EngineClock {
    public init() {}
    public var now: Double { SystemWallClock().now }
    public func sleep(seconds: Double) async throws {
        guard seconds > 0 else { return }
        try await Task.sleep(nanoseconds: UInt64(seconds * 1e9))
    }
}

/// Something the engine tells whoever watches the run (the CLI's live display), after it is committed.
public enum EngineNotice: Sendable {
    case stepStarted(step: String, attempt: Int, time: Double)
    case stepFinished(
        step: String, attempt: Int, status: StepStatus, seconds: Double, cacheHit: Bool, error: StepFailure?)
    case retryScheduled(step: String, attempt: Int, afterSeconds: Double)
    /// `notify`: the Approval step's recipients, told the token's link by whoever watches the run.
    case approvalRequested(step: String, token: String, message: String, notify: [String])
    case approvalWaiting(step: String)
    case cacheDecision(step: String, hit: Bool, key: String, explanation: String)
    case mapProgress(step: String, done: Int, total: Int)
    case finished(ExecutionStatus, StepFailure?)
}

/// Receives engine notices; called from the engine's tasks, so it must be thread-safe.
public protocol ExecutionObserver: Sendable {
    func notify(_ notice: EngineNotice)
}

/// Settings of one engine.
public struct EngineConfiguration: Sendable {
    /// Task steps running at once within one execution.
    public var maxParallel: Int = 8
    /// How long a lease lasts without renewal.
    public var leaseSeconds: Double = 30
    /// How often the lease is renewed (and cancel requests noticed).
    public var heartbeatSeconds: Double = 2
    /// How often a waiting approval checks the store for a decision.
    public var approvalPollSeconds: Double = 0.2
    /// Rung when a decision is recorded in this process, so waiting approvals see it at once.
    public var approvalBell: ApprovalBell?
    /// The folder holding `<execution>/<step>/<attempt>/` work directories.
    public var executionsDirectory: String
    /// Seeds retry jitter.
    public var seed: UInt64 = 0x5eed
    /// Group commit: transitions of effect-free steps (`StepExecutor.isEffectFree`, e.g. the `noop` built-in, and
    /// conditions) are committed together, at most `groupCommitSeconds` after the first and always before any step
    /// with effects starts, any notice shows or the execution finishes. Re-running such a step after a crash is
    /// unobservable, so the guarantees hold; steps with effects still commit every transition first.
    public var groupCommit = true
    /// The longest an effect-free transition waits for its group commit.
    public var groupCommitSeconds = 0.005
    /// The most step transitions in one group commit.
    public var groupCommitLimit = 512

    public init(executionsDirectory: String, maxParallel: Int = 8) {
        self.executionsDirectory = executionsDirectory
        self.maxParallel = maxParallel
    }
}

/// Why an execution cannot be started or driven; shown to the user as one line.
public typealias EngineError = RequestError

extension JSONValue {
    /// Parses JSON text.
    public static func parse(_ text: String) -> JSONValue? {
        try? JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
    }
}

/// Encodes a Codable value as canonical JSON (sorted keys).
func canonicalJSON(_ value: some Encodable) -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    return (try? String(decoding: encoder.encode(value), as: UTF8.self)) ?? ""
}

extension ExecutionChanges {
    /// Appends `later`'s changes after these, in order (a step may transition twice within one commit).
    mutating func merge(_ later: ExecutionChanges) {
        now = max(now, later.now)
        steps += later.steps
        attempts += later.attempts
        events += later.events
        artifacts += later.artifacts
        approvals += later.approvals
        cacheEntries += later.cacheEntries
        cacheComponents.merge(later.cacheComponents) { _, new in new }
        mapItems += later.mapItems
        if let status = later.executionStatus { executionStatus = status }
    }
}

/// Wakes the approval steps waiting in this process as soon as a decision is recorded here (the server's approval
/// pages ring it), instead of at their next poll of the store; decisions from other processes still arrive by poll.
public final class ApprovalBell: Sendable {
    private let waiters = Mutex<[UInt64: CheckedContinuation<Void, Never>]>([:])
    private let counter = Atomic<UInt64>(0)

    public init() {}

    /// Wakes every waiting approval step, which then reads its decision from the store.
    public func ring() {
        let woken = waiters.withLock { waiters in
            defer { waiters.removeAll() }
            return Array(waiters.values)
        }
        for waiter in woken { waiter.resume() }
    }

    /// Returns when the bell rings or after `seconds`, whichever comes first.
    func wait(seconds: Double) async {
        let id = counter.wrappingAdd(1, ordering: .relaxed).newValue
        await withCheckedContinuation { continuation in
            waiters.withLock { $0[id] = continuation }
            // Whichever of the timer and `ring` removes the waiter first resumes it.
            Task {
                try? await Task.sleep(nanoseconds: UInt64(seconds * 1e9))
                self.waiters.withLock { $0.removeValue(forKey: id) }?.resume()
            }
        }
    }
}
