public import Foundation
public import ServiceLifecycle
public import SluiceCore
import Synchronization

/// The engine inside the server's process: runs pipelines submitted over HTTP and, when the server starts (and
/// every few seconds after), resumes executions whose owner is gone, so an execution left waiting for an approval
/// by a `sluice run` that ended continues here once it is approved.
///
/// A service of the server's group. On shutdown it stops taking work and leaves running executions where they
/// stand: every transition is already committed, and the next server (or `sluice resume`) continues them.
public final class HostedEngine: ExecutionHost, Service, Sendable {
    /// What the host needs from its process: reading pipelines, naming executions, showing them.
    @MemberwiseInit
    public struct Wiring: Sendable {
        /// Loads and validates a pipeline file named in a submission; throws `SubmissionError` when it does not
        /// validate.
        public var loadPipeline: @Sendable (_ path: String) throws -> Pipeline
        /// A new execution id.
        public var newExecutionID: @Sendable () -> String
        /// The observer of one hosted execution (step lines, approval links and mails), given the server's
        /// address once it listens.
        public var observer:
            @Sendable (_ executionID: String, _ baseURL: @escaping @Sendable () -> String?) -> any ExecutionObserver
        /// An execution, its steps and attempts as the execution API answers them.
        public var describe: @Sendable (ExecutionRecord, [StepRecord], [String: [AttemptRecord]]) -> JSONValue
    }

    let runner: ExecutionRunner
    let adoption: any ExecutionAdopting
    let wiring: Wiring
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
    ///   - runner: claims and drives executions as this process.
    ///   - adoption: finds executions whose owner is gone.
    ///   - sink: receives the lines of hosted executions (the server's console).
    public init(
        runner: ExecutionRunner, adoption: any ExecutionAdopting, wiring: Wiring, rescanSeconds: Double = 5,
        sink: @escaping @Sendable (String) -> Void
    ) {
        self.runner = runner
        self.adoption = adoption
        self.wiring = wiring
        self.rescanSeconds = rescanSeconds
        self.sink = sink
        (jobs, submitted) = AsyncStream.makeStream()
    }

    var store: any ExecutionStore { runner.engine.store }

    /// The server's address once it listens, for approval links (`http://127.0.0.1:8080`).
    public var baseURL: String? {
        get { state.withLock { $0.baseURL } }
        set { state.withLock { $0.baseURL = newValue } }
    }

    // MARK: ExecutionHost

    public func submit(_ submission: ExecutionSubmission) async throws -> String {
        let loaded = try wiring.loadPipeline(submission.pipeline)
        // Parameters arrive as JSON; the engine reads each as its declared type from text, as `-p KEY=VALUE` does.
        let overrides = submission.parameters.mapValues { $0.string ?? $0.canonicalJSON }
        let id = wiring.newExecutionID()
        do {
            try runner.create(pipeline: loaded, overrides: overrides, id: id)
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
    public func host(_ id: String, pipeline: Pipeline) {
        guard state.withLock({ $0.driving.insert(id).inserted }) else { return }
        if case .terminated = submitted.yield((id, pipeline)) {
            state.withLock { _ = $0.driving.remove(id) }
        }
    }

    public func execution(id: String) async throws -> JSONValue? {
        guard let record = try store.execution(id: id) else { return nil }
        let steps = try store.steps(executionID: id)
        let attempts = Dictionary(grouping: try store.attempts(executionID: id), by: \.step)
        return wiring.describe(record, steps, attempts)
    }

    /// Waits until a hosted execution finishes; nil if this process stopped driving it (another took it over).
    public func waitForEnd(of id: String) async -> ExecutionStatus? {
        await withCheckedContinuation { continuation in
            let hosted = state.withLock { state in
                guard state.driving.contains(id) else { return false }
                state.waiters[id, default: []].append(continuation)
                return true
            }
            if !hosted {
                let status = try? store.execution(id: id)?.status
                continuation.resume(returning: status?.isFinished == true ? status : nil)
            }
        }
    }

    // MARK: Service

    public func run() async throws {
        await withGracefulShutdownHandler {
            await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    while !Task.isCancelled {
                        self.resumeOrphans()
                        try? await self.runner.engine.clock.sleep(seconds: self.rescanSeconds)
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
    public func resumeOrphans() {
        guard let ids = try? adoption.executionsToAdopt(now: runner.engine.clock.now) else { return }
        for id in ids where state.withLock({ $0.driving.insert(id).inserted }) {
            guard let record = try? store.execution(id: id), let pipeline = try? runner.storedPipeline(of: record)
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
        let observer = wiring.observer(id) { [weak self] in self?.baseURL }
        let sink = sink
        do {
            let outcome = try await runner.run(
                executionID: id, pipeline: pipeline, observer: observer,
                onClaimed: { if resuming { sink("execution \(id)  \(pipeline.name)  resumed (its owner is gone)") } })
            switch outcome {
            case .finished(let status):
                sink("execution \(id)  \(status.rawValue)")
                return status
            case .alreadyFinished(let status):
                return status
            case .ownedByOther, .notFound:
                return nil
            }
        } catch {
            sink("execution \(id)  stopped: \(error)")
            return nil
        }
    }
}
