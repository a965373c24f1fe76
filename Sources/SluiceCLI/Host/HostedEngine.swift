import Foundation
import ServiceLifecycle
import SluiceCore
import SluiceEngine
import SluiceServer
import SluiceSpec
import SluiceStore
import Synchronization

/// The engine inside the server's process: runs pipelines submitted over HTTP and, when the server starts (and
/// every few seconds after), resumes executions whose owner is gone, so an execution left waiting for an approval
/// by a `sluice run` that ended continues here once it is approved.
///
/// A service of the server's group. On shutdown it stops taking work and leaves running executions where they
/// stand: every transition is already committed, and the next `sluice serve` (or `sluice resume`) continues them.
final class HostedEngine: ExecutionHost, Service, Sendable {
    let context: EngineContext
    /// Relative pipeline paths are read from here.
    let workingDirectory: String
    /// How often executions left by a dead owner are looked for.
    let rescanSeconds: Double
    private let sink: @Sendable (String) -> Void
    private let jobs: AsyncStream<(id: String, pipeline: Pipeline)>
    private let submitted: AsyncStream<(id: String, pipeline: Pipeline)>.Continuation
    private let state = Mutex(State())

    private struct State {
        var driving: Set<String> = []
        var baseURL: String?
        var waiters: [String: [CheckedContinuation<ExecutionStatus?, Never>]] = [:]
    }

    /// - Parameters:
    ///   - sink: receives the step lines and the approval links of hosted executions (the server's console).
    init(
        context: EngineContext, workingDirectory: String = FileManager.default.currentDirectoryPath,
        rescanSeconds: Double = 5, sink: @escaping @Sendable (String) -> Void
    ) {
        self.context = context
        self.workingDirectory = workingDirectory
        self.rescanSeconds = rescanSeconds
        self.sink = sink
        (jobs, submitted) = AsyncStream.makeStream()
    }

    /// The server's address once it listens, for approval links (`http://127.0.0.1:8080`).
    var baseURL: String? {
        get { state.withLock { $0.baseURL } }
        set { state.withLock { $0.baseURL = newValue } }
    }

    // MARK: ExecutionHost

    func submit(_ submission: ExecutionSubmission) async throws -> String {
        let path =
            submission.pipeline.hasPrefix("/") ? submission.pipeline : workingDirectory + "/" + submission.pipeline
        let (loaded, diagnostics) = PipelineLoader.load(
            path: path, options: ValidationOptions(knownBuiltins: nil))
        guard let loaded else {
            let errors = diagnostics.filter { $0.severity == .error }.map(\.description)
            throw SubmissionError(
                "\(submission.pipeline) does not validate (\(errors.count) error\(errors.count == 1 ? "" : "s")); "
                    + "run `sluice validate \(submission.pipeline)` for every problem",
                diagnostics: errors)
        }
        // Parameters arrive as JSON; the engine reads each as its declared type from text, as `-p KEY=VALUE` does.
        let overrides = submission.parameters.mapValues { $0.string ?? $0.canonicalJSON }
        let id = EngineContext.newExecutionID()
        do {
            let execution = try context.engine.prepare(pipeline: loaded, overrides: overrides, id: id)
            try context.store.createExecution(execution)
        } catch let error as EngineError {
            throw SubmissionError(
                error.message.replacingOccurrences(of: "-p ", with: "parameter ").replacingOccurrences(
                    of: "pass it with -p", with: "give it under \"parameters\""))
        }
        sink("execution \(id)  \(loaded.name)  submitted (\(loaded.steps.count) steps)")
        state.withLock { _ = $0.driving.insert(id) }
        if case .terminated = submitted.yield((id, loaded)) {
            state.withLock { _ = $0.driving.remove(id) }
            throw SubmissionError(
                "the server is shutting down; execution \(id) is recorded as queued: run it with `sluice resume \(id)`")
        }
        return id
    }

    /// Drives an execution that is already recorded (a trigger's firing), unless this process drives it already.
    func host(_ id: String, pipeline: Pipeline) {
        guard state.withLock({ $0.driving.insert(id).inserted }) else { return }
        if case .terminated = submitted.yield((id, pipeline)) {
            state.withLock { _ = $0.driving.remove(id) }
        }
    }

    func execution(id: String) async throws -> JSONValue? {
        guard let record = try context.store.execution(id: id) else { return nil }
        let steps = try context.store.steps(executionID: id)
        let attempts = Dictionary(grouping: try context.store.attempts(executionID: id), by: \.step)
        return executionDetailJSON(record, steps: steps, attempts: attempts)
    }

    /// Waits until a hosted execution finishes; nil if this process stopped driving it (another took it over).
    func waitForEnd(of id: String) async -> ExecutionStatus? {
        await withCheckedContinuation { continuation in
            let hosted = state.withLock { state in
                guard state.driving.contains(id) else { return false }
                state.waiters[id, default: []].append(continuation)
                return true
            }
            if !hosted {
                let status = try? context.store.execution(id: id)?.status
                continuation.resume(returning: status?.isFinished == true ? status : nil)
            }
        }
    }

    // MARK: Service

    func run() async throws {
        await withGracefulShutdownHandler {
            await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    while !Task.isCancelled {
                        self.resumeOrphans()
                        try? await Task.sleep(nanoseconds: UInt64(self.rescanSeconds * 1e9))
                    }
                }
                for await job in jobs { launch(job.id, pipeline: job.pipeline, resuming: false) }
                group.cancelAll()
            }
        } onGracefulShutdown: {
            self.submitted.finish()
        }
    }

    /// Claims every execution whose owner is gone (running, or waiting in the queue for a slot) and drives it here.
    func resumeOrphans() {
        guard let ids = try? context.store.executionsToAdopt(now: Date().timeIntervalSince1970) else { return }
        for id in ids where state.withLock({ $0.driving.insert(id).inserted }) {
            guard let record = try? context.store.execution(id: id),
                let pipeline = try? context.storedPipeline(of: record)
            else {
                state.withLock { _ = $0.driving.remove(id) }
                continue
            }
            launch(id, pipeline: pipeline, resuming: true)
        }
    }

    /// Drives one execution (already marked as driven here) in its own task; it outlives a graceful shutdown only
    /// as long as the process does.
    private func launch(_ id: String, pipeline: Pipeline, resuming: Bool) {
        Task {
            let status = await drive(id, pipeline: pipeline, resuming: resuming)
            let waiters = state.withLock { state in
                state.driving.remove(id)
                return state.waiters.removeValue(forKey: id) ?? []
            }
            for waiter in waiters { waiter.resume(returning: status) }
        }
    }

    private func drive(_ id: String, pipeline: Pipeline, resuming: Bool) async -> ExecutionStatus? {
        let display = HostDisplay(executionID: id, sink: sink, baseURL: { [weak self] in self?.baseURL })
        do {
            while true {
                let claim = try context.store.claim(
                    executionID: id, owner: EngineContext.owner, now: Date().timeIntervalSince1970,
                    leaseSeconds: context.engine.configuration.leaseSeconds, ownerIsAlive: EngineContext.isAlive)
                switch claim {
                case .claimed:
                    if resuming { sink("execution \(id)  \(pipeline.name)  resumed (its owner is gone)") }
                    let mailer = context.approvalMailer(
                        executionID: id, next: display,
                        baseURL: { [weak self] in self?.baseURL ?? "http://127.0.0.1:8080" }, report: sink)
                    let status = try await context.engine.drive(
                        executionID: id, pipeline: pipeline, owner: EngineContext.owner, observer: mailer)
                    sink("execution \(id)  \(status.rawValue)")
                    return status
                case .queued:
                    try await Task.sleep(nanoseconds: 200_000_000)
                case .ownedByOther, .notFound:
                    return nil
                case .finished(let status):
                    return status
                }
            }
        } catch {
            sink("execution \(id)  stopped: \(error)")
            return nil
        }
    }
}

/// Step lines of hosted executions, prefixed with the execution id, and approval links on the server.
struct HostDisplay: ExecutionObserver {
    let executionID: String
    let sink: @Sendable (String) -> Void
    let baseURL: @Sendable () -> String?

    /// Formats the lines `sluice run` shows.
    let display = LiveDisplay(quiet: true)

    func notify(_ notice: EngineNotice) {
        switch notice {
        case .approvalRequested(let step, let token, let message, _):
            let base = baseURL() ?? "http://127.0.0.1:8080"
            sink(
                "[\(executionID)] ⏸ \(step)  waiting for approval: \(message)\n"
                    + "      open to approve or reject: \(base)/approvals/\(token)\n"
                    + "      or: sluice approve \(token) | sluice reject \(token) --reason \"…\"")
        case .finished:
            break
        default:
            if let line = display.format(notice) {
                sink("[\(executionID)] " + line.trimmingCharacters(in: .whitespaces))
            }
        }
    }
}
