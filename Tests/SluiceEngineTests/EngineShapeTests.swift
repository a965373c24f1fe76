import Foundation
import SluiceCore
import SluiceEngine
import SluiceStore
import SluiceTesting
import Testing

/// Collects notices for assertions.
final class Recorder: ExecutionObserver, @unchecked Sendable {
    private let lock = NSLock()
    private var notices: [EngineNotice] = []
    func notify(_ notice: EngineNotice) {
        lock.lock()
        notices.append(notice)
        lock.unlock()
    }
    var all: [EngineNotice] {
        lock.lock()
        defer { lock.unlock() }
        return notices
    }
}

struct Harness {
    let folder: String
    let store: SQLiteStore
    let clock = ManualClock()
    let executor: ScriptedExecutor
    let engine: ExecutionEngine

    init(_ script: [String: [ScriptedExecutor.Outcome]] = [:], maxParallel: Int = 8) throws {
        folder = NSTemporaryDirectory() + "sluice-engine-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        store = try SQLiteStore(path: "\(folder)/sluice.db")
        executor = ScriptedExecutor(script)
        var configuration = EngineConfiguration(executionsDirectory: "\(folder)/executions", maxParallel: maxParallel)
        configuration.heartbeatSeconds = 0.05
        engine = ExecutionEngine(
            store: store, artifacts: nil, executors: ["builtin": executor], clock: clock, configuration: configuration)
    }

    static let owner = LeaseOwner(id: "test", pid: Int(getpid()))

    func start(_ pipeline: Pipeline, overrides: [String: String] = [:]) throws -> String {
        let id = "ex-\(UUID().uuidString.prefix(8))"
        try store.createExecution(try engine.prepare(pipeline: pipeline, overrides: overrides, id: id))
        #expect(
            try store.claim(executionID: id, owner: Self.owner, now: clock.now, leaseSeconds: 30) { _ in true }
                == .claimed)
        return id
    }

    func run(_ pipeline: Pipeline, overrides: [String: String] = [:]) async throws -> (String, ExecutionStatus) {
        let id = try start(pipeline, overrides: overrides)
        let status = try await engine.drive(
            executionID: id, pipeline: pipeline, owner: Self.owner, observer: Recorder())
        return (id, status)
    }

    func statuses(_ id: String) throws -> [String: StepStatus] {
        Dictionary(uniqueKeysWithValues: try store.steps(executionID: id).map { ($0.name, $0.status) })
    }
}

@Suite struct EngineShapeTests {
    @Test func linearRunsInOrder() async throws {
        let harness = try Harness()
        let (id, status) = try await harness.run(PipelineShapes.linear)
        #expect(status == .succeeded)
        #expect(harness.executor.calls == ["A#1", "B#1", "C#1"])
        #expect(try harness.statuses(id).values.allSatisfy { $0 == .succeeded })
        #expect(try harness.store.execution(id: id)?.status == .succeeded)
    }

    @Test func diamondJoinsAfterBothBranches() async throws {
        let harness = try Harness()
        let (_, status) = try await harness.run(PipelineShapes.diamond)
        #expect(status == .succeeded)
        let calls = harness.executor.calls
        #expect(calls.first == "A#1" && calls.last == "D#1" && calls.count == 4)
    }

    @Test func fanOutInRunsEveryBranchOnce() async throws {
        let harness = try Harness(maxParallel: 3)
        let (id, status) = try await harness.run(PipelineShapes.fanOutIn)
        #expect(status == .succeeded)
        #expect(Set(harness.executor.calls).count == 12)
        #expect(harness.executor.calls.last == "Join#1")
        #expect(try harness.store.attempts(executionID: id).count == 12)
    }

    @Test(arguments: [(0.9, "Register", "Reject"), (0.1, "Reject", "Register")])
    func conditionalRegisterTakesOneBranch(score: Double, taken: String, skipped: String) async throws {
        let harness = try Harness(["Evaluate": [.succeed(["score": .double(score)])]])
        let (id, status) = try await harness.run(PipelineShapes.conditionalRegister)
        #expect(status == .succeeded)
        let statuses = try harness.statuses(id)
        #expect(statuses[taken] == .succeeded)
        #expect(statuses[skipped] == .skipped)
    }

    @Test func parameterOverrideChangesTheBranch() async throws {
        let harness = try Harness(["Evaluate": [.succeed(["score": .double(0.7)])]])
        let (id, _) = try await harness.run(PipelineShapes.conditionalRegister, overrides: ["Threshold": "0.8"])
        #expect(try harness.statuses(id)["Reject"] == .succeeded)
    }

    @Test func badParameterIsRefusedBeforeAnythingIsWritten() throws {
        let harness = try Harness()
        #expect(throws: EngineError.self) {
            try harness.engine.prepare(
                pipeline: PipelineShapes.conditionalRegister, overrides: ["Threshold": "high"], id: "x")
        }
        #expect(throws: EngineError.self) {
            try harness.engine.prepare(
                pipeline: PipelineShapes.conditionalRegister, overrides: ["Treshold": "1"], id: "x")
        }
        #expect(try harness.store.execution(id: "x") == nil)
    }

    @Test func retryThenSucceedBacksOffExponentially() async throws {
        let harness = try Harness(["Flaky": [.fail("Boom"), .fail("Boom"), .succeed([:])]])
        let (id, status) = try await harness.run(PipelineShapes.retry)
        #expect(status == .succeeded)
        #expect(harness.executor.calls == ["Flaky#1", "Flaky#2", "Flaky#3", "After#1"])
        #expect(harness.clock.sleeps == [1, 2])
        let attempts = try harness.store.attempts(executionID: id).filter { $0.step == "Flaky" }.map(\.status)
        #expect(attempts == [.failed, .failed, .succeeded])
    }

    /// With `jitter: FULL` each retry waits a random part of the backoff's delay.
    @Test func fullJitterWaitsLessThanTheBackoff() async throws {
        let harness = try Harness(["Flaky": [.fail("Boom"), .fail("Boom"), .succeed([:])]])
        var pipeline = PipelineShapes.retry
        pipeline.steps[0].retry[0].jitter = .full
        let (_, status) = try await harness.run(pipeline)
        #expect(status == .succeeded)
        let sleeps = harness.clock.sleeps
        #expect(sleeps.count == 2 && zip(sleeps, [1.0, 2.0]).allSatisfy { $0 >= 0 && $0 < $1 }, "\(sleeps)")
    }

    @Test func retryExhaustedThenCaught() async throws {
        let harness = try Harness(["Flaky": [.fail("Boom")]])
        let (id, status) = try await harness.run(PipelineShapes.retryThenCatch)
        #expect(status == .succeeded)
        #expect(harness.clock.sleeps == [2, 4])
        let statuses = try harness.statuses(id)
        #expect(statuses["Flaky"] == .caught)
        #expect(statuses["Recover"] == .succeeded)
        #expect(statuses["Next"] == .skipped)
    }

    @Test(arguments: [(0.9, "Register"), (0.1, "Reject")])
    func joinAfterAConditionRunsOnceWhicheverBranchRan(score: Double, branch: String) async throws {
        let harness = try Harness(["Evaluate": [.succeed(["score": .double(score)])]])
        let (id, status) = try await harness.run(PipelineShapes.branchJoin)
        #expect(status == .succeeded)
        let statuses = try harness.statuses(id)
        #expect(statuses[branch] == .succeeded)
        #expect(statuses["Report"] == .succeeded)
        #expect(harness.executor.calls.last == "Report#1")
    }

    @Test func sharedCatchHandlerRunsForWhicheverStepFailed() async throws {
        let harness = try Harness(["Train": [.fail("CapacityError")]])
        let (id, status) = try await harness.run(PipelineShapes.sharedCatch)
        #expect(status == .succeeded)
        let statuses = try harness.statuses(id)
        #expect(statuses["Train"] == .caught)
        #expect(statuses["Deploy"] == .skipped)
        #expect(statuses["Alert"] == .succeeded)
        #expect(harness.executor.calls == ["Load#1", "Train#1", "Alert#1"])
    }

    @Test func sharedCatchHandlerIsSkippedWhenNothingFails() async throws {
        let harness = try Harness()
        let (id, status) = try await harness.run(PipelineShapes.sharedCatch)
        #expect(status == .succeeded)
        #expect(try harness.statuses(id)["Alert"] == .skipped)
    }

    @Test func uncaughtFailureFailsTheExecution() async throws {
        let harness = try Harness(["A": [.fail("Oops")]])
        let (id, status) = try await harness.run(PipelineShapes.linear)
        #expect(status == .failed)
        #expect(try harness.store.execution(id: id)?.error?.error == "Oops")
        #expect(try harness.statuses(id)["B"] == .pending)
    }

    @Test func timeoutStopsTheStep() async throws {
        let harness = try Harness(["Slow": [.hang]])
        let (id, status) = try await harness.run(PipelineShapes.timeout)
        #expect(status == .failed)
        #expect(try harness.store.execution(id: id)?.error?.error == ErrorName.timeout)
        #expect(harness.clock.sleeps.contains(5))
    }

    @Test func cancelStopsRunningSteps() async throws {
        let harness = try Harness(["B": [.hang]])
        let id = try harness.start(PipelineShapes.linear)
        let engine = harness.engine
        let drive = Task {
            try await engine.drive(
                executionID: id, pipeline: PipelineShapes.linear, owner: Harness.owner, observer: Recorder())
        }
        while try harness.statuses(id)["B"] != .running { try await Task.sleep(nanoseconds: 5_000_000) }
        _ = try harness.store.requestCancel(executionID: id, now: harness.clock.now)
        let status = try await drive.value
        #expect(status == .cancelled)
        let statuses = try harness.statuses(id)
        #expect(statuses["A"] == .succeeded)
        #expect(statuses["B"] == .cancelled)
        #expect(statuses["C"] == .cancelled)
    }

    @Test func resumeReRunsInterruptedAttemptsAndKeepsSucceededOnes() async throws {
        let harness = try Harness()
        let id = try harness.start(PipelineShapes.linear)
        // Simulate a crash after A succeeded and while B was running.
        var machine = ExecutionStateMachine(
            pipeline: PipelineShapes.linear, executionID: id, parameters: [:],
            records: try harness.store.steps(executionID: id))
        var actions = machine.start(now: 1)
        actions += machine.stepFinished("A", attempt: 1, outcome: .succeeded(["x": 1]), now: 2)
        var changes = ExecutionChanges(executionID: id, now: 2)
        machine.drainChanges(into: &changes)
        try harness.store.apply(changes)
        #expect(actions.contains(.launch(step: "B", attempt: 1)))
        let status = try await harness.engine.drive(
            executionID: id, pipeline: PipelineShapes.linear, owner: Harness.owner, observer: Recorder())
        #expect(status == .succeeded)
        #expect(harness.executor.calls == ["B#2", "C#1"])
        let attempts = try harness.store.attempts(executionID: id)
        #expect(attempts.filter { $0.step == "B" }.map(\.status) == [.interrupted, .succeeded])
        #expect(try harness.store.steps(executionID: id).first?.outputs == ["x": 1])
    }
}

@Suite struct StateMachineTests {
    @Test func transitionsAreData() {
        #expect(StepStatus.pending.canTransition(to: .running))
        #expect(!StepStatus.succeeded.canTransition(to: .running))
        #expect(!StepStatus.skipped.canTransition(to: .succeeded))
    }

    @Test func executionFieldsResolveToTheIdTheNameAndTheStartInISO8601() throws {
        let pipeline = Pipeline(name: "fields", steps: [Step(name: "A", kind: .succeed)])
        // 2026-12-04T10:20:30.250Z
        let machine = ExecutionStateMachine(
            pipeline: pipeline, executionID: "e-1", parameters: [:], records: [], startedAt: 1_796_379_630.25)
        #expect(try machine.resolve(Reference(.execution(.id))) == .string("e-1"))
        #expect(try machine.resolve(Reference(.execution(.name))) == .string("fields"))
        #expect(try machine.resolve(Reference(.execution(.startTime))) == .string("2026-12-04T10:20:30.250Z"))
    }

    @Test func failStepEndsTheExecution() {
        let pipeline = Pipeline(
            name: "f",
            steps: [Step(name: "Stop", kind: .fail(FailSpec(message: Template(literal: "no"), error: "Custom.Error")))])
        var machine = ExecutionStateMachine(pipeline: pipeline, executionID: "e", parameters: [:], records: [])
        let actions = machine.start(now: 0)
        #expect(actions == [.finish(.failed, StepFailure("Custom.Error", cause: "no"))])
    }
}
