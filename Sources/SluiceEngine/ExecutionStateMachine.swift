import Foundation
public import SluiceCore

/// The lifecycle of one execution, as a value: events in, actions out, every step transition recorded.
///
/// The driver (`ExecutionEngine`) calls a `mutating` method for each event, commits the transitions the machine
/// accumulated (`drainChanges`) and only then performs the returned actions. The machine does no I/O and reads no
/// clock: times come in as arguments, so tests drive it deterministically.
public struct ExecutionStateMachine: Sendable {
    public enum Action: Hashable, Sendable {
        /// Run attempt `attempt` of a task, map, approval or wait step.
        case launch(step: String, attempt: Int)
        /// Run the step again as attempt `attempt` after a delay (retry backoff).
        case scheduleRetry(step: String, attempt: Int, afterSeconds: Double)
        /// Stop these running steps (cancel requested).
        case cancelRunning([String])
        case finish(ExecutionStatus, StepFailure?)
    }

    /// How an attempt ended, as the driver reports it.
    public enum Outcome: Hashable, Sendable {
        case succeeded([String: JSONValue], cacheKey: String? = nil, cacheHit: Bool = false)
        case failed(StepFailure)
        case cancelled
    }

    public let pipeline: Pipeline
    public let executionID: String
    /// `$.execution.startTime`: the execution's start in ISO 8601 (UTC, milliseconds), as Step Functions gives it.
    let startTime: String
    public let parameters: [String: JSONValue]
    public private(set) var steps: [String: StepRecord]
    public private(set) var status: ExecutionStatus = .running
    /// The first uncaught failure; the execution fails with it once running steps have stopped.
    public private(set) var failure: StepFailure?
    private var succeedRequested = false
    private var cancelling = false
    private var finished = false
    private var maxParallel: Int
    private var order: [String]
    private var stepsByName: [String: Step]
    private var onFailureNames: [String]
    private var transitions: [ExecutionChanges.StepTransition] = []
    private var attemptRecords: [AttemptRecord] = []
    /// When each step's current attempt started (the step's `startedAt` is its first attempt's).
    private var attemptStarts: [String: Double] = [:]
    private var events: [ExecutionEvent] = []
    private var random: SplitMix64
    /// Steps waiting on each step, unresolved dependency counts, and pending steps whose dependencies resolved:
    /// kept incrementally so each event costs O(its neighbours), not O(steps).
    private var dependents: [String: [String]] = [:]
    private var unresolved: [String: Int] = [:]
    private var ready: [String] = []
    private var readHead = 0
    private var runningTasks = 0
    private var active = 0
    private var referencedSteps: [String: [String]] = [:]
    private let readReport: @Sendable (String) -> JSONValue?

    /// - Parameters:
    ///   - records: the stored steps (all `pending` for a new execution).
    ///   - maxParallel: how many task steps run at once.
    ///   - seed: seeds the retry jitter.
    ///   - startedAt: when the execution started (seconds since 1970), which `$.execution.startTime` reads.
    public init(
        pipeline: Pipeline, executionID: String, parameters: [String: JSONValue], records: [StepRecord],
        maxParallel: Int = 8, seed: UInt64 = 0x5eed, startedAt: Double = 0,
        readReport: @escaping @Sendable (String) -> JSONValue? = { _ in nil }
    ) {
        self.readReport = readReport
        self.pipeline = pipeline
        self.executionID = executionID
        self.startTime = ReferenceResolver.startTime(startedAt)
        // A Float read back from the store's JSON may come as an integer (6.0 is stored as 6): give it its type back.
        var typed = parameters
        for parameter in pipeline.parameters where parameter.type == .float {
            if case .int(let value) = typed[parameter.name] { typed[parameter.name] = .double(Double(value)) }
        }
        self.parameters = typed
        self.maxParallel = max(1, maxParallel)
        self.order = pipeline.steps.map(\.name)
        self.onFailureNames = pipeline.onFailure.map(\.name)
        var byName: [String: Step] = [:]
        for step in pipeline.steps + pipeline.onFailure { byName[step.name] = step }
        self.stepsByName = byName
        var current: [String: StepRecord] = [:]
        for name in order + onFailureNames { current[name] = StepRecord(name: name) }
        for record in records where current[record.name] != nil { current[record.name] = record }
        self.steps = current
        self.random = SplitMix64(seed: seed)
        for step in pipeline.steps {
            unresolved[step.name] = 0
            referencedSteps[step.name] = Array(Set(step.references.compactMap(\.step)))
            for dependency in step.after {
                dependents[dependency.step, default: []].append(step.name)
                if current[dependency.step]?.status.isResolved != true { unresolved[step.name, default: 0] += 1 }
            }
        }
        for step in pipeline.onFailure {
            referencedSteps[step.name] = Array(Set(step.references.compactMap(\.step)))
        }
        for name in order + onFailureNames {
            guard let record = current[name] else { continue }
            if record.status == .running || record.status == .waiting {
                active += 1
                if isTask(name), record.status == .running { runningTasks += 1 }
            }
            if record.status == .pending, unresolved[name] == 0 { ready.append(name) }
        }
    }

    private func isTask(_ name: String) -> Bool {
        switch stepsByName[name]?.kind {
        case .task, .map: true
        default: false
        }
    }

    // MARK: Events

    /// Starts or resumes: interrupted attempts are re-attempted with the next number, approvals keep waiting,
    /// retries keep their due time, and every step whose dependencies are resolved is launched or skipped.
    /// - Parameter takeovers: what the driver did with each interrupted attempt's process; an adopted attempt keeps
    ///   its number and is launched again only to be followed to its end.
    public mutating func start(now: Double, takeovers: [String: AttemptTakeover] = [:]) -> [Action] {
        var actions: [Action] = []
        for name in order + onFailureNames {
            guard let record = steps[name], let step = stepsByName[name] else { continue }
            switch record.status {
            case .running:
                if case .approval = step.kind {
                    actions.append(.launch(step: name, attempt: record.attempt))
                } else if case .wait = step.kind, record.dueAt != nil {
                    // A wait resumes where it was: its due time was committed when it started.
                    actions.append(.launch(step: name, attempt: record.attempt))
                } else if takeovers[name] == .adopted {
                    attemptRecords.append(
                        AttemptRecord(
                            step: name, number: record.attempt, status: .running, startedAt: record.startedAt ?? now,
                            takeover: .adopted))
                    events.append(
                        ExecutionEvent(
                            time: now, step: name, attempt: record.attempt, kind: "adopted",
                            message: "the attempt's process outlived the driver that started it; it is followed to "
                                + "its end, not run again"))
                    actions.append(.launch(step: name, attempt: record.attempt))
                } else {
                    let takeover = takeovers[name]
                    attemptRecords.append(
                        AttemptRecord(
                            step: name, number: record.attempt, status: .interrupted, startedAt: now, finishedAt: now,
                            takeover: takeover))
                    let event =
                        takeover == .killed
                        ? "interrupted attempt's process group was still running: killed, then re-run"
                        : "interrupted attempt re-run"
                    actions.append(launch(name, from: .running, now: now, event: event))
                }
            case .waiting:
                let delay = max(0, (record.dueAt ?? now) - now)
                actions.append(.scheduleRetry(step: name, attempt: record.attempt + 1, afterSeconds: delay))
            case .failed where !onFailureNames.contains(name):
                failure = failure ?? record.error
            default:
                break
            }
        }
        return actions + advance(now: now)
    }

    /// An attempt ended.
    public mutating func stepFinished(_ name: String, attempt: Int, outcome: Outcome, now: Double) -> [Action] {
        guard var record = steps[name], record.attempt == attempt, record.status == .running,
            let step = stepsByName[name]
        else { return [] }
        var actions: [Action] = []
        switch outcome {
        case .succeeded(let outputs, let cacheKey, let cacheHit):
            record.outputs = outputs
            record.cacheKey = cacheKey
            record.cacheHit = cacheHit
            record.finishedAt = now
            record.error = nil
            finishAttempt(name, attempt, .succeeded, error: nil, now: now)
            transition(record, from: .running, to: .succeeded, now: now, message: cacheHit ? "cache hit" : "")
        case .cancelled:
            record.finishedAt = now
            finishAttempt(name, attempt, .cancelled, error: nil, now: now)
            transition(record, from: .running, to: .cancelled, now: now, message: "")
        case .failed(let error):
            finishAttempt(name, attempt, .failed, error: error, now: now)
            record.error = error
            if !cancelling, let rule = step.retry.first(where: { $0.matches(error.error) }),
                attempt - 1 < rule.maxAttempts
            {
                var delay = rule.delay(beforeRetry: attempt)
                if rule.jitter == .full { delay *= random.nextUnit() }
                record.dueAt = now + delay
                transition(record, from: .running, to: .waiting, now: now, message: "retry in \(delay)s: \(error)")
                actions.append(.scheduleRetry(step: name, attempt: attempt + 1, afterSeconds: delay))
            } else if !cancelling, let rule = step.catches.first(where: { $0.matches(error.error) }) {
                record.caughtBy = rule.next
                record.finishedAt = now
                transition(record, from: .running, to: .caught, now: now, message: "\(error) → \(rule.next)")
            } else {
                record.finishedAt = now
                transition(record, from: .running, to: .failed, now: now, message: error.description)
                if !onFailureNames.contains(name) { failure = failure ?? error }
            }
        }
        return actions + advance(now: now)
    }

    /// A retry's backoff has elapsed.
    public mutating func retryDue(_ name: String, attempt: Int, now: Double) -> [Action] {
        guard let record = steps[name], record.status == .waiting, record.attempt + 1 == attempt else { return [] }
        if cancelling {
            var cancelled = record
            cancelled.finishedAt = now
            transition(cancelled, from: .waiting, to: .cancelled, now: now, message: "")
            return advance(now: now)
        }
        return [launch(name, from: .waiting, now: now, event: "retry")]
    }

    /// Cancel requested: running steps are told to stop, nothing new starts.
    public mutating func cancel(now: Double) -> [Action] {
        guard !cancelling, !finished else { return [] }
        cancelling = true
        events.append(ExecutionEvent(time: now, step: nil, attempt: nil, kind: "cancel-requested", message: ""))
        var running: [String] = []
        for name in order + onFailureNames {
            guard let record = steps[name] else { continue }
            if record.status == .running { running.append(name) }
            if record.status == .waiting {
                var cancelled = record
                cancelled.finishedAt = now
                transition(cancelled, from: .waiting, to: .cancelled, now: now, message: "")
            }
        }
        return (running.isEmpty ? [] : [.cancelRunning(running)]) + advance(now: now)
    }

    /// Hands over the transitions, attempts and events accumulated since the last call.
    public mutating func drainChanges(into changes: inout ExecutionChanges) {
        changes.steps += transitions
        changes.attempts += attemptRecords
        changes.events += events
        transitions.removeAll(keepingCapacity: true)
        attemptRecords.removeAll(keepingCapacity: true)
        events.removeAll(keepingCapacity: true)
    }

    // MARK: Scheduling

    /// Launches or skips every step whose dependencies are resolved, then finishes the execution when nothing
    /// is left to wait for.
    private mutating func advance(now: Double) -> [Action] {
        guard !finished else { return [] }
        var actions: [Action] = []
        let stopping = cancelling || failure != nil || succeedRequested
        if !stopping {
            while readHead < ready.count {
                let name = ready[readHead]
                guard steps[name]?.status == .pending, let step = stepsByName[name] else {
                    readHead += 1
                    continue
                }
                guard let runs = shouldRun(step) else {
                    readHead += 1
                    continue
                }
                if runs, isTask(name), runningTasks >= maxParallel { break }
                readHead += 1
                if !runs {
                    var record = steps[name]!
                    record.finishedAt = now
                    transition(record, from: .pending, to: .skipped, now: now, message: "")
                    continue
                }
                switch step.kind {
                case .task, .map, .approval, .wait:
                    actions.append(launch(name, from: .pending, now: now, event: ""))
                case .condition(let spec):
                    var record = steps[name]!
                    record.attempt += 1
                    record.startedAt = now
                    record.finishedAt = now
                    do {
                        let result = try spec.condition.evaluate(resolve)
                        record.conditionResult = result
                        record.outputs = ["result": .bool(result)]
                        transition(record, from: .pending, to: .succeeded, now: now, message: "\(result)")
                    } catch {
                        let failure = StepFailure("Sluice.ConditionError", cause: "\(error)")
                        record.error = failure
                        transition(record, from: .pending, to: .failed, now: now, message: "\(failure)")
                        self.failure = self.failure ?? failure
                    }
                case .fail(let spec):
                    var record = steps[name]!
                    record.attempt += 1
                    record.startedAt = now
                    record.finishedAt = now
                    let message = (try? spec.message.render(resolve)) ?? "failed"
                    record.error = StepFailure(spec.error, cause: message)
                    transition(record, from: .pending, to: .failed, now: now, message: message)
                    failure = failure ?? record.error
                case .succeed:
                    var record = steps[name]!
                    record.attempt += 1
                    record.startedAt = now
                    record.finishedAt = now
                    transition(record, from: .pending, to: .succeeded, now: now, message: "")
                    succeedRequested = true
                }
                if failure != nil || succeedRequested { break }
            }
            if readHead > 1_024, readHead * 2 > ready.count {
                ready.removeFirst(readHead)
                readHead = 0
            }
        }
        guard active == 0 else { return actions }
        if failure != nil, !cancelling {
            // Clean-up and notification steps run one after another once the execution has failed.
            if let next = onFailureNames.first(where: { steps[$0]?.status == .pending }) {
                return actions + [launch(next, from: .pending, now: now, event: "on-failure")]
            }
        }
        if !actions.isEmpty { return actions }
        let outcome: ExecutionStatus
        if cancelling {
            outcome = .cancelled
        } else if failure != nil {
            outcome = .failed
        } else if succeedRequested || order.allSatisfy({ steps[$0]?.status.isResolved == true }) {
            outcome = .succeeded
        } else {
            return actions
        }
        for name in order where steps[name]?.status == .pending {
            var record = steps[name]!
            record.finishedAt = now
            if outcome == .succeeded {
                transition(record, from: .pending, to: .skipped, now: now, message: "")
            } else if outcome == .cancelled {
                transition(record, from: .pending, to: .cancelled, now: now, message: "")
            }
        }
        finished = true
        status = outcome
        events.append(
            ExecutionEvent(
                time: now, step: nil, attempt: nil, kind: "execution-\(outcome.rawValue)",
                message: failure?.description ?? ""))
        return [.finish(outcome, outcome == .failed ? failure : nil)]
    }

    /// nil while a dependency is unresolved; otherwise whether the step runs.
    ///
    /// A step runs when at least one dependency resolved the way it needs (a join after both branches of a
    /// condition, or one handler that several steps catch into, runs once either path arrives) and every step
    /// whose outputs it reads succeeded. A step with no dependency satisfied is skipped, and so, in turn, are its
    /// dependents.
    private func shouldRun(_ step: Step) -> Bool? {
        guard !step.after.isEmpty else { return true }
        var anySatisfied = false
        for dependency in step.after {
            guard let record = steps[dependency.step], record.status.isResolved else { return nil }
            let satisfied: Bool
            switch dependency.outcome {
            case .succeeded: satisfied = record.status == .succeeded
            case .conditionTrue: satisfied = record.status == .succeeded && record.conditionResult == true
            case .conditionFalse: satisfied = record.status == .succeeded && record.conditionResult == false
            case .caught: satisfied = record.status == .caught && record.caughtBy == step.name
            }
            anySatisfied = anySatisfied || satisfied
        }
        let readsFrom = Set(step.references.compactMap(\.step))
        let inputsExist = readsFrom.allSatisfy { steps[$0]?.status == .succeeded }
        return anySatisfied && inputsExist
    }

    private mutating func launch(_ name: String, from: StepStatus, now: Double, event: String) -> Action {
        var record = steps[name]!
        record.attempt += 1
        record.startedAt = record.startedAt ?? now
        attemptStarts[name] = now
        record.finishedAt = nil
        record.dueAt = nil
        record.error = nil
        if case .wait(let spec) = stepsByName[name]?.kind, spec.until == nil, let seconds = spec.seconds?.seconds {
            record.dueAt = now + seconds
        }
        attemptRecords.append(AttemptRecord(step: name, number: record.attempt, status: .running, startedAt: now))
        transition(record, from: from, to: .running, now: now, message: event)
        return .launch(step: name, attempt: record.attempt)
    }

    private mutating func finishAttempt(
        _ name: String, _ number: Int, _ status: AttemptStatus, error: StepFailure?, now: Double
    ) {
        let startedAt = attemptStarts[name] ?? steps[name]?.startedAt ?? now
        attemptRecords.append(
            AttemptRecord(
                step: name, number: number, status: status, startedAt: startedAt, finishedAt: now, error: error))
    }

    private mutating func transition(
        _ record: StepRecord, from: StepStatus, to: StepStatus, now: Double, message: String
    ) {
        precondition(from.canTransition(to: to), "illegal step transition \(from) → \(to) for \(record.name)")
        var next = record
        next.status = to
        steps[record.name] = next
        let wasActive = from == .running || from == .waiting
        let isActive = to == .running || to == .waiting
        if wasActive != isActive { active += isActive ? 1 : -1 }
        if isTask(record.name), (from == .running) != (to == .running) { runningTasks += to == .running ? 1 : -1 }
        if to.isResolved, !from.isResolved {
            for dependent in dependents[record.name] ?? [] {
                unresolved[dependent, default: 1] -= 1
                if unresolved[dependent] == 0 { ready.append(dependent) }
            }
        }
        transitions.append(ExecutionChanges.StepTransition(from: from, record: next))
        events.append(
            ExecutionEvent(time: now, step: record.name, attempt: next.attempt, kind: to.rawValue, message: message))
    }

    /// Resolves a reference against parameters, execution fields and the outputs of resolved steps.
    public func resolve(_ reference: Reference) throws -> JSONValue {
        try resolver.resolve(reference, item: nil)
    }

    var resolver: ReferenceResolver { resolver(for: nil) }

    /// A snapshot resolver for launching `step`: it carries only the outputs that step reads.
    func resolver(for step: String?) -> ReferenceResolver {
        var outputs: [String: [String: JSONValue]] = [:]
        let names = step.flatMap { referencedSteps[$0] } ?? Array(steps.keys)
        for name in names { outputs[name] = steps[name]?.outputs }
        let steps = outputs
        return ReferenceResolver(
            executionID: executionID, pipelineName: pipeline.name, startTime: startTime, parameters: parameters,
            outputs: { steps[$0] }, readReport: readReport)
    }
}

/// Resolves references for conditions and step inputs.
struct ReferenceResolver: Sendable {
    var executionID: String
    var pipelineName: String
    var startTime: String
    var parameters: [String: JSONValue]
    var outputs: @Sendable (String) -> [String: JSONValue]?
    var readReport: @Sendable (String) -> JSONValue?

    func resolve(_ reference: Reference, item: JSONValue?) throws -> JSONValue {
        let root: JSONValue
        switch reference.root {
        case .parameter(let name):
            guard let value = parameters[name] else { throw ResolutionError(reference: reference, reason: "no value") }
            root = value
        case .stepOutput(let step, let output):
            guard let value = outputs(step)?[output] else {
                throw ResolutionError(reference: reference, reason: "step '\(step)' has no output '\(output)'")
            }
            root = value
        case .execution(let field):
            switch field {
            case .id: root = .string(executionID)
            case .name: root = .string(pipelineName)
            case .startTime: root = .string(startTime)
            }
        case .mapItem:
            guard let item else { throw ResolutionError(reference: reference, reason: "only inside a Map step") }
            root = item
        }
        if reference.path.isEmpty { return root }
        // A report output is a path to a JSON file; conditions read into its content.
        var document = root
        if case .string(let path) = root, let content = readReport(path) { document = content }
        guard let value = document[path: reference.path] else {
            throw ResolutionError(reference: reference, reason: "path not found in the value")
        }
        return value
    }
}

extension ReferenceResolver {
    static func startTime(_ seconds: Double) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: Date(timeIntervalSince1970: seconds))
    }
}

/// A reference could not be resolved when the step ran.
public struct ResolutionError: SluiceError, Hashable, Sendable {
    public var reference: Reference
    public var reason: String
    public var code: String { "unresolved-reference" }
    public var message: String { description }

    public var description: String { "cannot resolve \(reference): \(reason)" }
}
