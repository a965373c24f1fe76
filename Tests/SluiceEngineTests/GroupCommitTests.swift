import Foundation
import SluiceCore
import SluiceEngine
import SluiceExecutors
import SluiceStore
import Synchronization
import Testing

/// A real SQLite store that counts its commits of step changes.
final class CountingStore: ExecutionStore {
    let base: SQLiteStore
    let applied = Mutex(0)

    init(_ base: SQLiteStore) { self.base = base }

    func createExecution(_ execution: NewExecution) throws { try base.createExecution(execution) }
    func claim(
        executionID: String, owner: LeaseOwner, now: Double, leaseSeconds: Double,
        ownerIsAlive: @Sendable (Int) -> Bool
    ) throws -> ClaimResult {
        try base.claim(
            executionID: executionID, owner: owner, now: now, leaseSeconds: leaseSeconds, ownerIsAlive: ownerIsAlive)
    }
    func renewLease(executionID: String, owner: LeaseOwner, now: Double, leaseSeconds: Double) throws -> (
        held: Bool, cancelRequested: Bool
    ) {
        try base.renewLease(executionID: executionID, owner: owner, now: now, leaseSeconds: leaseSeconds)
    }
    func apply(_ changes: ExecutionChanges) throws {
        applied.withLock { $0 += 1 }
        try base.apply(changes)
    }
    func execution(id: String) throws -> ExecutionRecord? { try base.execution(id: id) }
    func steps(executionID: String) throws -> [StepRecord] { try base.steps(executionID: executionID) }
    func attempts(executionID: String) throws -> [AttemptRecord] { try base.attempts(executionID: executionID) }
    func pipelineDefinition(hash: String) throws -> String? { try base.pipelineDefinition(hash: hash) }
    func approval(executionID: String, step: String) throws -> ApprovalRecord? {
        try base.approval(executionID: executionID, step: step)
    }
    func cachedOutputs(key: String, notBefore: Double?) throws -> (
        executionID: String, step: String, outputs: [String: JSONValue]
    )? { try base.cachedOutputs(key: key, notBefore: notBefore) }
    func recordAttemptProcess(executionID: String, step: String, attempt: Int, process: AttemptProcess) throws {
        try base.recordAttemptProcess(executionID: executionID, step: step, attempt: attempt, process: process)
    }
    func attemptProcesses(executionID: String, step: String, attempt: Int) throws -> [AttemptProcess] {
        try base.attemptProcesses(executionID: executionID, step: step, attempt: attempt)
    }
}

/// A step with effects: when it runs, it reads the store to see what is committed at that moment.
final class CommittedStateProbe: StepExecutor {
    let store: SQLiteStore
    let seen = Mutex<[StepRecord]>([])

    init(store: SQLiteStore) { self.store = store }

    func run(_ request: StepRequest) async throws -> StepResult {
        let records = try store.steps(executionID: request.executionID)
        seen.withLock { $0 = records }
        return .succeeded([:])
    }
}

@Suite struct GroupCommitTests {
    /// 30 no-op steps, a step with effects, 30 more no-op steps.
    static let pipeline: Pipeline = {
        let noop = Module(name: "Noop", kind: .builtin, implementation: .builtin(name: "noop", options: [:]))
        let probe = Module(
            name: "Probe", kind: .command, implementation: .command(arguments: ["probe"], environment: [:]))
        let names = (0..<30).map { "a\($0)" } + ["probe"] + (0..<30).map { "b\($0)" }
        let steps = names.enumerated().map { index, name in
            Step(
                name: name, kind: .task(TaskSpec(module: name == "probe" ? "Probe" : "Noop")),
                after: index == 0 ? [] : [Dependency(names[index - 1])])
        }
        return Pipeline(name: "group-commit", steps: steps, modules: ["Noop": noop, "Probe": probe])
    }()

    func run(groupCommit: Bool) async throws -> (CountingStore, CommittedStateProbe, String) {
        let folder = NSTemporaryDirectory() + "sluice-group-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let sqlite = try SQLiteStore(path: "\(folder)/sluice.db")
        let store = CountingStore(sqlite)
        let probe = CommittedStateProbe(store: sqlite)
        var configuration = EngineConfiguration(executionsDirectory: "\(folder)/executions")
        configuration.groupCommit = groupCommit
        let engine = ExecutionEngine(
            store: store, artifacts: nil, executors: ["builtin": BuiltinExecutor(coreBuiltinSteps), "command": probe],
            configuration: configuration)
        let id = "ex-\(UUID().uuidString.prefix(8))"
        try store.createExecution(try engine.prepare(pipeline: Self.pipeline, overrides: [:], id: id))
        let owner = LeaseOwner(id: "test", pid: Int(getpid()))
        #expect(
            try store.claim(executionID: id, owner: owner, now: Date().timeIntervalSince1970, leaseSeconds: 30) { _ in
                true
            } == .claimed)
        let status = try await engine.drive(
            executionID: id, pipeline: Self.pipeline, owner: owner, observer: Recorder())
        #expect(status == .succeeded)
        return (store, probe, id)
    }

    /// Effect-free steps share commits, yet a step with effects starts only once everything before it, its own
    /// start included, is committed; and every transition ends up recorded.
    @Test func effectFreeStepsShareCommitsButEffectsWaitForThem() async throws {
        let (store, probe, id) = try await run(groupCommit: true)
        let steps = Self.pipeline.steps.count
        #expect(store.applied.withLock { $0 } < steps)
        let seen = Dictionary(uniqueKeysWithValues: probe.seen.withLock { $0 }.map { ($0.name, $0.status) })
        #expect(seen["probe"] == .running)
        #expect((0..<30).allSatisfy { seen["a\($0)"] == .succeeded })
        let records = try store.steps(executionID: id)
        #expect(records.count == steps && records.allSatisfy { $0.status == .succeeded && $0.attempt == 1 })
        let events = try store.base.events(executionID: id)
        for name in Self.pipeline.steps.map(\.name) {
            #expect(events.filter { $0.step == name }.map(\.kind) == ["running", "succeeded"], "\(name)")
        }
    }

    @Test func withoutGroupCommitEveryStepCommitsOnItsOwn() async throws {
        let (store, probe, _) = try await run(groupCommit: false)
        #expect(store.applied.withLock { $0 } >= Self.pipeline.steps.count)
        #expect(probe.seen.withLock { $0 }.first { $0.name == "probe" }?.status == .running)
    }
}
