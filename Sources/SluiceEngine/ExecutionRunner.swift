public import Foundation
public import SluiceCore

/// Claims an execution and drives it to the end: the one loop behind `sluice run`, `resume`, `retry` and the
/// server's hosted engine. While the pipeline version is at its concurrency limit, the execution waits in the queue.
@MemberwiseInit
public struct ExecutionRunner: Sendable {
    /// How a run ended.
    public enum Outcome: Hashable, Sendable {
        /// Driven here to the end, with this status.
        case finished(ExecutionStatus)
        /// Another live process owns the execution.
        case ownedByOther(pid: Int)
        /// The execution had already ended with this status.
        case alreadyFinished(ExecutionStatus)
        /// No execution has that id.
        case notFound
    }

    public let engine: ExecutionEngine
    /// This process as a lease owner.
    public let owner: LeaseOwner
    /// Whether a process is alive (an execution whose owner is not can be claimed).
    public let ownerIsAlive: @Sendable (Int) -> Bool

    /// Records a new execution of `pipeline`, its parameters read from `overrides` as their declared types; it
    /// waits as `queued` until a runner claims it.
    public func create(pipeline: Pipeline, overrides: [String: String], id: String) throws {
        try engine.store.createExecution(try engine.prepare(pipeline: pipeline, overrides: overrides, id: id))
    }

    /// The pipeline version an execution runs, as stored when it was created.
    public func storedPipeline(of execution: ExecutionRecord) throws -> Pipeline {
        guard let definition = try engine.store.pipelineDefinition(hash: execution.pipelineHash),
            let pipeline = try? JSONDecoder().decode(Pipeline.self, from: Data(definition.utf8))
        else {
            throw EngineError(
                code: "missing-pipeline",
                message: "execution \(execution.id): its pipeline version is missing from the store")
        }
        return pipeline
    }

    /// Claims the execution (waiting in the queue while its pipeline version is at its limit) and drives it.
    /// - Parameters:
    ///   - observer: receives the engine's notices.
    ///   - onQueued: called at every claim that found the version at its limit, with the number running.
    ///   - onClaimed: called once the execution is claimed, before it is driven.
    public func run(
        executionID: String, pipeline: Pipeline, observer: any ExecutionObserver,
        onQueued: (Int) -> Void = { _ in }, onClaimed: () -> Void = {}
    ) async throws -> Outcome {
        while true {
            let claim = try engine.store.claim(
                executionID: executionID, owner: owner, now: engine.clock.now,
                leaseSeconds: engine.configuration.leaseSeconds, ownerIsAlive: ownerIsAlive)
            switch claim {
            case .claimed:
                onClaimed()
                return .finished(
                    try await engine.drive(
                        executionID: executionID, pipeline: pipeline, owner: owner, observer: observer))
            case .queued(let running):
                onQueued(running)
                try await engine.clock.sleep(seconds: Double.random(in: 0.05...0.2))
            case .ownedByOther(let pid):
                return .ownedByOther(pid: pid)
            case .finished(let status):
                return .alreadyFinished(status)
            case .notFound:
                return .notFound
            }
        }
    }
}
