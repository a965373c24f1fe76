import Foundation
import GRDB
import SluiceCore
import SluiceExecutors
import SluiceStore
import Testing

@Suite struct ServingStoreTests {
    /// deploy → promote → deploy → promote → rollback, then "which version served production at T" for each T.
    @Test func historyAnswersWhichVersionServedAStageAtATime() throws {
        let sandbox = try ServingSandbox()
        let store = sandbox.store
        try sandbox.register("G", slope: 1)
        try sandbox.register("G", slope: 2)
        func deploy(_ version: Int, at time: Double) throws -> DeploymentRecord {
            try store.deploy(
                endpoint: "e", stage: "staging",
                variant: DeployedVariant(name: "AllTraffic", group: "G", version: version),
                replacing: true, allowUnapproved: false, capturePercentage: nil, by: "ana", reason: "v\(version)",
                now: time)
        }
        _ = try deploy(1, at: 100)
        let first = try store.promote(
            endpoint: "e", from: "staging", to: "production", allowUnapproved: false, by: "bo", reason: "", now: 200)
        _ = try deploy(2, at: 300)
        _ = try store.promote(
            endpoint: "e", from: "staging", to: "production", allowUnapproved: false, by: "bo", reason: "", now: 400)
        let rollback = try store.rollback(endpoint: "e", stage: "production", by: "cy", reason: "regression", now: 500)
        #expect(rollback.restoredID == first.id && rollback.variants.map(\.version) == [1])

        func served(_ time: Double) throws -> DeploymentRecord? {
            try store.deployment(endpoint: "e", stage: "production", at: time)
        }
        #expect(try served(150) == nil)
        #expect(try served(250)?.variants.map(\.reference) == ["G/1"])
        #expect(try served(450)?.variants.map(\.reference) == ["G/2"])
        let afterRollback = try #require(try served(550))
        #expect(afterRollback.variants.map(\.reference) == ["G/1"] && afterRollback.action == .rollback)
        #expect(afterRollback.by == "cy" && afterRollback.reason == "regression")

        // Nothing before the first production deployment: a second rollback is refused and writes nothing.
        let before = try store.deploymentHistory(endpoint: "e", stage: nil).count
        #expect(throws: EndpointError.self) {
            try store.rollback(endpoint: "e", stage: "production", by: "cy", reason: "", now: 600)
        }
        #expect(try store.deploymentHistory(endpoint: "e", stage: nil).count == before)
        #expect(
            try store.currentDeployments().map { "\($0.stage)=\($0.variants[0].reference)" } == [
                "production=G/1", "staging=G/2",
            ])
    }

    @Test func unapprovedVersionsNeedTheOverrideAndTrafficNamesKnownVariants() throws {
        let sandbox = try ServingSandbox()
        let store = sandbox.store
        try sandbox.register("G", slope: 1)
        let pending = try sandbox.register("G", slope: 2, status: .pendingManualApproval)
        let variant = DeployedVariant(name: "B", group: "G", version: pending, weight: 1)
        do {
            _ = try store.deploy(
                endpoint: "e", stage: "production", variant: variant, replacing: true, allowUnapproved: false,
                capturePercentage: nil, by: "ana", reason: "", now: 1)
            Issue.record("an unapproved version was deployed")
        } catch let error as EndpointError {
            #expect(error.code == .unapprovedVersion && error.description.contains("--allow-unapproved"))
        }
        #expect(try store.endpoints().isEmpty, "a refused deploy must not create the endpoint")

        _ = try store.deploy(
            endpoint: "e", stage: "production", variant: DeployedVariant(name: "A", group: "G", version: 1),
            replacing: true, allowUnapproved: false, capturePercentage: 20, by: "ana", reason: "", now: 2)
        let both = try store.deploy(
            endpoint: "e", stage: "production", variant: variant, replacing: false, allowUnapproved: true,
            capturePercentage: nil, by: "ana", reason: "canary", now: 3)
        #expect(both.variants.map(\.name) == ["A", "B"])
        let split = try store.setTraffic(
            endpoint: "e", stage: "production", weights: ["A": 0.9, "B": 0.1], by: "ana", reason: "", now: 4)
        #expect(split.variants.map(\.weight) == [0.9, 0.1] && split.action == .traffic)
        #expect(throws: EndpointError.self) {
            try store.setTraffic(endpoint: "e", stage: "production", weights: ["C": 1], by: "", reason: "", now: 5)
        }
        #expect(throws: EndpointError.self) {
            try store.setTraffic(
                endpoint: "e", stage: "production", weights: ["A": 0, "B": 0], by: "", reason: "", now: 5)
        }
        #expect(try store.endpoints().map(\.capturePercentage) == [20])
        do {
            _ = try store.promote(
                endpoint: "nope", from: "staging", to: "production", allowUnapproved: false, by: "", reason: "", now: 6)
            Issue.record("promoting an unknown endpoint succeeded")
        } catch let error as EndpointError {
            #expect(error.code == .unknownEndpoint && error.description.contains("endpoints: e"))
        }
    }

    @Test func historyAndKeysRefuseEditsAtTheSQLiteLevel() throws {
        let sandbox = try ServingSandbox()
        let store = sandbox.store
        try sandbox.register("G", slope: 1)
        _ = try store.deploy(
            endpoint: "e", stage: "production", variant: DeployedVariant(name: "A", group: "G", version: 1),
            replacing: true, allowUnapproved: false, capturePercentage: nil, by: "ana", reason: "", now: 1)
        try store.createAPIKey(StoredAPIKey(id: "key_1", name: "client", hashHex: SHA256.hex("sk_1"), createdAt: 1))
        let counter = try store.servingChangeCounter()
        try store.revokeAPIKey(id: "key_1", now: 2)
        #expect(try store.servingChangeCounter() > counter)
        #expect(throws: APIKeyError.self) { try store.revokeAPIKey(id: "key_2", now: 3) }

        let database = try DatabaseQueue(path: sandbox.homePath + "/sluice.db")
        for statement in [
            "UPDATE deployment SET actor = 'mallory'", "DELETE FROM deployment",
            "UPDATE deployment_variant SET version = 2", "DELETE FROM deployment_variant",
            "UPDATE api_key SET revoked_at = NULL", "UPDATE api_key SET hash = '\(SHA256.hex("other"))'",
            "DELETE FROM api_key",
        ] {
            #expect(throws: DatabaseError.self, "\(statement)") {
                try database.write { try $0.execute(sql: statement) }
            }
        }
        let key = try #require(try store.apiKeys().first)
        #expect(key.revokedAt == 2 && key.hashHex == SHA256.hex("sk_1"))
        #expect(try store.deploymentHistory(endpoint: "e", stage: nil).first?.by == "ana")
    }

    @Test func keyUsageRoundTripsAndDropsUnknownKeys() throws {
        let store = try ServingSandbox().store
        try store.createAPIKey(StoredAPIKey(id: "key_1", name: "client", hashHex: SHA256.hex("sk_1"), createdAt: 1))
        try store.saveKeyUsage([
            KeyUsage(keyID: "key_1", day: 20_000, dayCount: 3, month: 24_300, monthCount: 9),
            KeyUsage(keyID: "key_gone", day: 20_000, dayCount: 1, month: 24_300, monthCount: 1),
        ])
        try store.saveKeyUsage([KeyUsage(keyID: "key_1", day: 20_001, dayCount: 1, month: 24_300, monthCount: 10)])
        #expect(
            try store.keyUsage() == [KeyUsage(keyID: "key_1", day: 20_001, dayCount: 1, month: 24_300, monthCount: 10)])
    }

    @Test func deployStepRefusesUnapprovedVersionsUnlessOverridden() async throws {
        let sandbox = try ServingSandbox()
        try sandbox.register("G", slope: 1)
        try sandbox.register("G", slope: 2, status: .pendingManualApproval)
        let step = DeployEndpointStep(endpoints: sandbox.store, registry: sandbox.store, serveURL: "http://h:1")
        var context = BuiltinStepContext(
            inputs: ["ModelVersion": "G/2", "Endpoint": "e", "Stage": "staging"], options: [:],
            workDirectory: sandbox.folder + "/work", executionID: "x1", stepName: "Deploy")
        do {
            _ = try await step.run(context)
            Issue.record("the step deployed an unapproved version")
        } catch let failure as StepFailure {
            #expect(failure.cause.contains("AllowUnapproved"))
        }
        #expect(try sandbox.store.currentDeployments().isEmpty)

        context.inputs["ModelVersion"] = "G"  // latest Approved
        let outputs = try await step.run(context)
        #expect(outputs["ModelVersion"] == "G/1" && outputs["Stage"] == "staging" && outputs["Endpoint"] == "e")
        #expect(outputs["EndpointUrl"] == "http://h:1/endpoints/e/staging")

        context.inputs["ModelVersion"] = "G/2"
        context.inputs["AllowUnapproved"] = true
        #expect(try await step.run(context)["ModelVersion"] == "G/2")
        let current = try #require(try sandbox.store.currentDeployments().first)
        #expect(current.variants.map(\.reference) == ["G/2"] && current.by == "execution x1")
    }
}
