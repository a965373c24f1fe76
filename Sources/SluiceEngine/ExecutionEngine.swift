public import Foundation
public import SluiceCore
import Synchronization

/// Drives executions: the state machine decides, the store records, executors do the work.
///
/// One `drive` call owns one execution (its caller claimed the lease). Every transition is committed through the
/// store before the process it starts, the token it prints or the display line it shows.
public final class ExecutionEngine: Sendable {
    public let store: any ExecutionStore
    public let artifacts: (any ArtifactStoring)?
    /// Executors by implementation kind (`builtin`, `command`, `lambda`, `glue`, `http`, `container`).
    public let executors: [String: any StepExecutor]
    public let clock: any EngineClock
    public let configuration: EngineConfiguration
    /// Where `s3://` inputs are fetched from and `s3://` outputs go; without one such a step fails, naming the URI.
    public let objects: (any ObjectStore)?

    public init(
        store: any ExecutionStore, artifacts: (any ArtifactStoring)?, executors: [String: any StepExecutor],
        clock: any EngineClock = SystemClock(), configuration: EngineConfiguration, objects: (any ObjectStore)? = nil
    ) {
        self.store = store
        self.artifacts = artifacts
        self.executors = executors
        self.clock = clock
        self.configuration = configuration
        self.objects = objects
    }

    // MARK: Starting

    /// Checks parameter overrides and every step's executor, and builds the record of a new execution.
    ///
    /// Nothing is written: a bad parameter or a module that cannot run here is reported before the store is touched.
    public func prepare(pipeline: Pipeline, overrides: [String: String], id: String) throws -> NewExecution {
        var parameters: [String: JSONValue] = [:]
        for parameter in pipeline.parameters {
            if let value = parameter.defaultValue { parameters[parameter.name] = value }
        }
        parameters.merge(try Self.parameterValues(overrides, for: pipeline)) { _, override in override }
        for parameter in pipeline.parameters where parameters[parameter.name] == nil {
            throw EngineError(
                code: "missing-parameter",
                message: "parameter '\(parameter.name)' has no default; pass it with -p \(parameter.name)=VALUE")
        }
        for step in pipeline.steps + pipeline.onFailure {
            let task: TaskSpec
            switch step.kind {
            case .task(let spec): task = spec
            case .map(let spec): task = spec.task
            default: continue
            }
            guard let module = pipeline.modules[task.module] else {
                throw EngineError(code: "unknown-module", message: "step '\(step.name)': no module '\(task.module)'")
            }
            guard let implementation = module.implementation else {
                throw EngineError(
                    code: "no-implementation",
                    message: "step '\(step.name)': module '\(module.name)' has no implementation; add "
                        + "'implementation:' (builtin, command, lambda, glue, http or container) to run it locally")
            }
            let kind = implementation.kindName
            guard let executor = executors[kind] else {
                throw EngineError(
                    code: "no-executor", message: "step '\(step.name)': no executor for \(kind) modules")
            }
            if let problem = executor.preflight(module) {
                throw EngineError(
                    code: "preflight", message: "step '\(step.name)' (module '\(module.name)'): \(problem.cause)")
            }
        }
        let definition = canonicalJSON(pipeline)
        return NewExecution(
            id: id, pipelineName: pipeline.name, pipelineHash: "sha256:" + SHA256.hex(definition),
            pipelineDefinition: definition, parameters: parameters,
            stepNames: pipeline.steps.map(\.name) + pipeline.onFailure.map(\.name),
            maxConcurrentExecutions: pipeline.maxConcurrentExecutions, createdAt: clock.now)
    }

    /// The `-p KEY=VALUE` overrides of `pipeline`'s parameters, each read as its parameter's type and checked
    /// against its `allowed_values`; the defaults are not added (`prepare` adds them, a deployed machine has its own).
    /// - Parameters:
    ///   - overrides: the values as given, by parameter name.
    ///   - pipeline: the pipeline whose parameters they set.
    /// - Throws: `EngineError` naming the first bad override (by name) and how to fix it: an unknown name (with the
    ///   closest one), a value not of the parameter's type, or a value outside its allowed values.
    public static func parameterValues(_ overrides: [String: String], for pipeline: Pipeline) throws
        -> [String: JSONValue]
    {
        var values: [String: JSONValue] = [:]
        for (name, text) in overrides.sorted(by: { $0.key < $1.key }) {
            guard let parameter = pipeline.parameter(named: name) else {
                let hint = closestMatch(to: name, in: pipeline.parameters.map(\.name)).map { "; did you mean '\($0)'?" }
                throw EngineError(
                    code: "unknown-parameter",
                    message: "-p \(name)=…: pipeline '\(pipeline.name)' has no parameter '\(name)'"
                        + (hint ?? " (it has: \(pipeline.parameters.map(\.name).joined(separator: ", ")))"))
            }
            guard let value = parseParameter(text, as: parameter.type) else {
                throw EngineError(
                    code: "parameter-type",
                    message: "-p \(name)=\(text): parameter '\(name)' is \(parameter.type.rawValue); "
                        + "give a value of that type")
            }
            if let allowed = parameter.allowedValues, !allowed.contains(value) {
                throw EngineError(
                    code: "parameter-value",
                    message: "-p \(name)=\(text): allowed values are "
                        + allowed.map(\.interpolationText).joined(separator: ", "))
            }
            values[name] = value
        }
        return values
    }

    /// Reads a `-p KEY=VALUE` value as the parameter's type.
    public static func parseParameter(_ text: String, as type: ValueType) -> JSONValue? {
        switch type {
        case .string, .data, .model, .report: return .string(text)
        case .integer: return Int(text).map(JSONValue.int)
        case .float: return Double(text).map(JSONValue.double)
        case .boolean:
            switch text.lowercased() {
            case "true", "yes", "1": return .bool(true)
            case "false", "no", "0": return .bool(false)
            default: return nil
            }
        case .json: return JSONValue.parse(text) ?? .string(text)
        }
    }

    // MARK: Driving

    enum Message: Sendable {
        case finished(step: String, attempt: Int, completion: Completion)
        case retryDue(step: String, attempt: Int)
        case cancel
        /// Commit the group-committed transitions now.
        case flush
        case leaseLost
    }

    /// What a step attempt reports back: its outcome and the records that go with it.
    struct Completion: Sendable {
        var outcome: ExecutionStateMachine.Outcome
        var artifacts: [ExecutionChanges.ArtifactUse] = []
        var cacheEntry: (key: String, outputs: [String: JSONValue])?
        /// What the cache key was computed from, recorded with the entry for `--explain-cache`.
        var cacheComponents: JSONValue?
    }

    /// Runs (or resumes) an execution this process has claimed, until it finishes.
    /// - Returns: the execution's final status.
    public func drive(
        executionID: String, pipeline: Pipeline, owner: LeaseOwner, observer: any ExecutionObserver
    ) async throws -> ExecutionStatus {
        guard let execution = try store.execution(id: executionID) else {
            throw EngineError(code: "unknown-execution", message: "no execution '\(executionID)'")
        }
        var machine = ExecutionStateMachine(
            pipeline: pipeline, executionID: executionID, parameters: execution.parameters,
            records: try store.steps(executionID: executionID), maxParallel: configuration.maxParallel,
            seed: configuration.seed, startedAt: execution.startedAt ?? execution.createdAt,
            readReport: Self.readReport)
        let inbox = Inbox()
        var tasks: [String: Task<Void, Never>] = [:]
        let heartbeat = startHeartbeat(executionID: executionID, owner: owner, inbox: inbox)
        defer {
            heartbeat.cancel()
            for task in tasks.values { task.cancel() }
        }
        var stepsByName: [String: Step] = [:]
        for step in pipeline.steps + pipeline.onFailure { stepsByName[step.name] = step }
        let effectFree = configuration.groupCommit ? effectFreeSteps(pipeline) : []
        var adoptions = try takeOverInterruptedAttempts(executionID: executionID, pipeline: pipeline, machine: machine)
        var actions = machine.start(now: clock.now, takeovers: adoptions.mapValues(\.takeover))
        var pendingExtras: [(step: String, attempt: Int, completion: Completion)] = []
        // Transitions of effect-free steps not yet committed (group commit, see `EngineConfiguration`).
        var uncommitted = ExecutionChanges(executionID: executionID, now: clock.now)
        var flushScheduled = false
        var flushDue = false
        while true {
            var changes = ExecutionChanges(executionID: executionID, now: clock.now)
            machine.drainChanges(into: &changes)
            for extra in pendingExtras {
                changes.artifacts += extra.completion.artifacts
                if let entry = extra.completion.cacheEntry, case .succeeded = extra.completion.outcome {
                    changes.cacheEntries.append(
                        (key: entry.key, step: extra.step, attempt: extra.attempt, outputs: entry.outputs))
                    changes.cacheComponents[entry.key] = extra.completion.cacheComponents
                }
            }
            pendingExtras.removeAll()
            var finishedStatus: ExecutionStatus?
            for action in actions {
                if case .finish(let status, let error) = action {
                    changes.executionStatus = (status, error)
                    finishedStatus = status
                }
            }
            let deferrable =
                !flushDue && !actions.isEmpty && uncommitted.steps.count < configuration.groupCommitLimit
                && changes.approvals.isEmpty && changes.executionStatus == nil
                && changes.steps.allSatisfy { effectFree.contains($0.record.name) }
                && actions.allSatisfy { action in
                    if case .launch(let name, _) = action { return effectFree.contains(name) }
                    return false
                }
            uncommitted.merge(changes)
            if deferrable {
                if !flushScheduled {
                    flushScheduled = true
                    let delay = configuration.groupCommitSeconds
                    Task {
                        try? await Task.sleep(nanoseconds: UInt64(delay * 1e9))
                        inbox.push(.flush)
                    }
                }
            } else {
                if !uncommitted.isEmpty { try store.apply(uncommitted) }
                report(uncommitted, observer: observer)
                uncommitted = ExecutionChanges(executionID: executionID, now: clock.now)
                flushDue = false
            }
            for action in actions {
                switch action {
                case .launch(let name, let attempt):
                    let resolver = machine.resolver(for: name)
                    guard let step = stepsByName[name] else { continue }
                    let dueAt = machine.steps[name]?.dueAt
                    let adopting = adoptions.removeValue(forKey: name).flatMap {
                        $0.takeover == .adopted && $0.attempt == attempt ? $0.process : nil
                    }
                    tasks[name] = Task {
                        let completion = await self.runStep(
                            step, attempt: attempt, dueAt: dueAt, pipeline: pipeline, resolver: resolver,
                            observer: observer, adopting: adopting)
                        inbox.push(.finished(step: name, attempt: attempt, completion: completion))
                    }
                case .scheduleRetry(let name, let attempt, let delay):
                    observer.notify(.retryScheduled(step: name, attempt: attempt, afterSeconds: delay))
                    let clock = clock
                    tasks[name] = Task {
                        do {
                            try await clock.sleep(seconds: delay)
                            inbox.push(.retryDue(step: name, attempt: attempt))
                        } catch {}
                    }
                case .cancelRunning(let names):
                    for name in names { tasks[name]?.cancel() }
                case .finish(let status, let error):
                    observer.notify(.finished(status, error))
                }
            }
            if let finishedStatus { return finishedStatus }
            actions = []
            for message in await inbox.take() {
                switch message {
                case .finished(let step, let attempt, let completion):
                    tasks[step] = nil
                    pendingExtras.append((step, attempt, completion))
                    actions += machine.stepFinished(step, attempt: attempt, outcome: completion.outcome, now: clock.now)
                case .retryDue(let step, let attempt):
                    tasks[step] = nil
                    actions += machine.retryDue(step, attempt: attempt, now: clock.now)
                case .cancel:
                    actions += machine.cancel(now: clock.now)
                case .flush:
                    flushScheduled = false
                    flushDue = true
                case .leaseLost:
                    throw EngineError(
                        code: "lease-lost",
                        message: "execution \(executionID) was taken over by another process; stopped driving it")
                }
            }
        }
    }

    /// Steps whose transitions may be group-committed: tasks of effect-free modules (no retry timers, no cache
    /// lookups racing other processes) and conditions, which only compute.
    private func effectFreeSteps(_ pipeline: Pipeline) -> Set<String> {
        var names: Set<String> = []
        for step in pipeline.steps {
            switch step.kind {
            case .task(let spec):
                guard let module = pipeline.modules[spec.module],
                    let executor = executors[module.implementation?.kindName ?? "builtin"],
                    executor.isEffectFree(module), step.timeout == nil
                else { continue }
                names.insert(step.name)
            case .condition:
                names.insert(step.name)
            default:
                continue
            }
        }
        return names
    }

    private func report(_ changes: ExecutionChanges, observer: any ExecutionObserver) {
        for transition in changes.steps {
            let record = transition.record
            switch record.status {
            case .running:
                observer.notify(.stepStarted(step: record.name, attempt: record.attempt, time: changes.now))
            case .succeeded, .failed, .caught, .skipped, .cancelled:
                let total = record.startedAt.map { (record.finishedAt ?? changes.now) - $0 } ?? 0
                let attempt = changes.attempts.last { $0.step == record.name && $0.number == record.attempt }
                let seconds = attempt.flatMap { attempt in attempt.finishedAt.map { $0 - attempt.startedAt } } ?? total
                observer.notify(
                    .stepFinished(
                        step: record.name, attempt: record.attempt, status: record.status, seconds: max(0, seconds),
                        totalSeconds: max(0, total), cacheHit: record.cacheHit, error: record.error))
            case .pending, .waiting:
                break
            }
        }
    }

    private func startHeartbeat(executionID: String, owner: LeaseOwner, inbox: Inbox) -> Task<Void, Never> {
        let store = store
        let configuration = configuration
        let clock = clock
        return Task {
            var cancelSent = false
            while !Task.isCancelled {
                try? await Task.sleep(nanoseconds: UInt64(configuration.heartbeatSeconds * 1e9))
                if Task.isCancelled { return }
                guard
                    let lease = try? store.renewLease(
                        executionID: executionID, owner: owner, now: clock.now,
                        leaseSeconds: configuration.leaseSeconds)
                else { continue }
                if !lease.held {
                    inbox.push(.leaseLost)
                    return
                }
                if lease.cancelRequested, !cancelSent {
                    cancelSent = true
                    inbox.push(.cancel)
                }
            }
        }
    }

    static func readReport(_ path: String) -> JSONValue? {
        guard path.hasPrefix("/") || path.hasPrefix("."), let data = FileManager.default.contents(atPath: path)
        else { return nil }
        return try? JSONDecoder().decode(JSONValue.self, from: data)
    }
}

/// Messages from step tasks to the driving loop; the loop takes everything that arrived at once, so completions
/// that land together commit in one transaction.
final class Inbox: Sendable {
    private struct State: ~Copyable {
        var items: [ExecutionEngine.Message] = []
        var waiter: CheckedContinuation<[ExecutionEngine.Message], Never>?
    }

    private let state = Mutex(State())

    func push(_ message: ExecutionEngine.Message) {
        let waiter = state.withLock { state -> CheckedContinuation<[ExecutionEngine.Message], Never>? in
            if let waiter = state.waiter {
                state.waiter = nil
                return waiter
            }
            state.items.append(message)
            return nil
        }
        waiter?.resume(returning: [message])
    }

    func take() async -> [ExecutionEngine.Message] {
        await withCheckedContinuation { continuation in
            let ready = state.withLock { state -> [ExecutionEngine.Message]? in
                if state.items.isEmpty {
                    state.waiter = continuation
                    return nil
                }
                defer { state.items.removeAll(keepingCapacity: true) }
                return state.items
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }
}
