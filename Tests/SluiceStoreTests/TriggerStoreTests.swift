import Foundation
import SluiceCore
import Testing

@testable import SluiceStore

@Suite struct TriggerStoreTests {
    let folder = NSTemporaryDirectory() + "sluice-triggers-\(UUID().uuidString)"

    func execution(_ id: String) -> NewExecution {
        NewExecution(
            id: id, pipelineName: "p", pipelineHash: "sha256:abc", pipelineDefinition: "{}", parameters: [:],
            stepNames: ["A"], maxConcurrentExecutions: 1, createdAt: 10)
    }

    func enable(_ store: SQLiteStore, path: String = "/p.yaml", now: Double = 5) throws -> [EnabledTrigger] {
        try store.enableTriggers(
            pipelinePath: path, pipeline: ("p", "sha256:abc", "{}"), names: ["p:1", "p:2"], parameters: ["K": "v"],
            now: now)
    }

    @Test(arguments: StoreWriter.allCases) func aKeyFiresOnceWithItsExecution(_ writer: StoreWriter) throws {
        let store = try writer.open(in: folder)
        let trigger = try #require(try enable(store).first)
        #expect(trigger.name == "p:1" && trigger.parameters == ["K": "v"] && trigger.anchor == 5)
        let firing = TriggerFiring(
            triggerID: trigger.id, key: "file:/a.csv:sha256:1", scheduledTime: nil,
            executionID: "e1", firedAt: 11)
        #expect(try store.recordFiring(firing, execution: execution("e1")))
        #expect(try store.execution(id: "e1")?.status == .queued)
        // The same key again: refused, and its execution is not created.
        var again = firing
        again.executionID = "e2"
        #expect(try !store.recordFiring(again, execution: execution("e2")))
        #expect(try store.execution(id: "e2") == nil)
        #expect(try store.hasFired(triggerID: trigger.id, key: firing.key))
        #expect(try store.lastFiring(triggerID: trigger.id) == firing)
        #expect(try store.unfinishedExecutions(triggerID: trigger.id) == ["e1"])
        #expect(try store.firings(triggerName: "p:1").map(\.executionID) == ["e1"])
    }

    @Test(arguments: StoreWriter.allCases) func reEnablingKeepsFiringsAndDisablingStops(_ writer: StoreWriter) throws {
        let store = try writer.open(in: folder)
        let first = try enable(store)
        _ = try store.recordFiring(
            TriggerFiring(
                triggerID: first[0].id, key: "schedule:60", scheduledTime: 60, executionID: "e1", firedAt: 60),
            execution: execution("e1"))
        let second = try enable(store, now: 100)
        #expect(second.map(\.id) == first.map(\.id))
        #expect(second.allSatisfy { $0.anchor == 100 && $0.enabled })
        #expect(try store.lastFiring(triggerID: first[0].id)?.scheduledTime == 60)
        #expect(try store.disableTriggers(pipelinePath: "/p.yaml") == 2)
        #expect(try store.disableTriggers(pipelinePath: "/p.yaml") == 0)
        #expect(try store.triggers().allSatisfy { !$0.enabled })
    }
}
