import Foundation
import SluiceCore
import SluiceEngine
import SluiceStore
import SluiceTesting
import Testing

@Suite struct DurableWaitTests {
    /// A wait interrupted 45 s into 60 sleeps only the remaining 15 s when resumed, in the same attempt.
    @Test func resumedWaitSleepsOnlyWhatIsLeft() async throws {
        let harness = try Harness()
        let pipeline = Pipeline(
            name: "waiting",
            steps: [
                Step(name: "Pause", kind: .wait(WaitSpec(seconds: TimeSpan(seconds: 60)))),
                Step(name: "A", kind: .task(TaskSpec(module: "M")), after: [Dependency("Pause")]),
            ],
            modules: ["M": Module(name: "M", kind: .builtin, implementation: .builtin(name: "noop", options: [:]))])
        let id = try harness.start(pipeline)
        // What a process killed 45 s into the wait leaves behind: the start of the wait, committed with its due time.
        var machine = ExecutionStateMachine(
            pipeline: pipeline, executionID: id, parameters: [:], records: try harness.store.steps(executionID: id))
        let started = harness.clock.now
        let actions = machine.start(now: started)
        #expect(actions == [.launch(step: "Pause", attempt: 1)])
        var changes = ExecutionChanges(executionID: id, now: started)
        machine.drainChanges(into: &changes)
        try harness.store.apply(changes)
        #expect(try harness.store.steps(executionID: id).first?.dueAt == started + 60)
        harness.clock.advance(by: 45)

        let status = try await harness.engine.drive(
            executionID: id, pipeline: pipeline, owner: Harness.owner, observer: Recorder())
        #expect(status == .succeeded)
        #expect(harness.clock.sleeps.contains(15))
        #expect(!harness.clock.sleeps.contains(60))
        let pause = try #require(try harness.store.steps(executionID: id).first { $0.name == "Pause" })
        #expect(pause.attempt == 1)
        #expect(pause.status == .succeeded)
    }

    /// A Wait `until` an ISO 8601 time sleeps until then.
    @Test func waitUntilSleepsToTheTimestamp() async throws {
        let harness = try Harness()
        // The manual clock starts at 1,700,000,000 s, 2023-11-14T22:13:20Z: 30 s before the time waited for.
        let pipeline = Pipeline(
            name: "dated",
            steps: [Step(name: "Pause", kind: .wait(WaitSpec(until: Template(literal: "2023-11-14T22:13:50Z"))))],
            modules: [:])
        let id = try harness.start(pipeline)
        let status = try await harness.engine.drive(
            executionID: id, pipeline: pipeline, owner: Harness.owner, observer: Recorder())
        #expect(status == .succeeded)
        #expect(harness.clock.sleeps.contains(30), "\(harness.clock.sleeps)")
    }
}
