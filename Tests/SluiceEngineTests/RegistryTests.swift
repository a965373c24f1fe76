import Foundation
import GRDB
import SluiceCore
import SluiceExecutors
import SluiceStore
import Testing

@Suite struct RegistryTests {
    static func freshStore() throws -> (SQLiteStore, String) {
        let folder = NSTemporaryDirectory() + "sluice-registry-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let path = folder + "/sluice.db"
        return (try SQLiteStore(path: path), path)
    }

    static func version(_ group: String, _ status: ModelApprovalStatus, hash: Int = 0) -> NewModelVersion {
        NewModelVersion(
            group: group, artifactPath: "/models/\(group)/\(hash)", artifactHash: "sha256:\(hash)", status: status,
            executionID: "e\(hash)", stepName: "Register", inputHashes: ["Model": "sha256:\(hash)"],
            createdAt: Double(hash))
    }

    @Test func concurrentRegistrationsAreNumberedFromOnePerGroup() async throws {
        let (first, path) = try Self.freshStore()
        let second = try SQLiteStore(path: path)  // a second connection pool, as another process would open
        let perGroup = 12
        try await withThrowingTaskGroup(of: ModelVersionRecord.self) { group in
            for index in 0..<(perGroup * 2) {
                let store = index.isMultiple(of: 2) ? first : second
                let name = index % 4 < 2 ? "A" : "B"
                group.addTask { try store.registerModelVersion(Self.version(name, .approved, hash: index), by: "test") }
            }
            for try await _ in group {}
        }
        for name in ["A", "B"] {
            let numbers = try first.modelVersions(group: name).map(\.version)
            #expect(numbers == Array(1...perGroup))
        }
        let groups = try first.modelGroups()
        #expect(groups.map(\.name) == ["A", "B"])
        #expect(groups.map(\.versionCount) == [perGroup, perGroup])
    }

    /// Registering the same artifact again from the same step of the same execution (an attempt re-run after its
    /// driver died) returns the version already there; another artifact of that step (a Map's next iteration) or
    /// another execution gets the next number.
    @Test func aStepOfAnExecutionRegistersAnArtifactOnce() throws {
        let (store, _) = try Self.freshStore()
        let first = try store.registerModelVersion(Self.version("G", .approved, hash: 1), by: "test")
        var again = Self.version("G", .approved, hash: 1)
        again.artifactPath = "/models/G/attempt-2"
        again.createdAt = 99
        #expect(try store.registerModelVersion(again, by: "test") == first)
        var iteration = Self.version("G", .approved, hash: 1)
        iteration.artifactHash = "sha256:other"
        #expect(try store.registerModelVersion(iteration, by: "test").version == 2)
        #expect(try store.registerModelVersion(Self.version("G", .approved, hash: 2), by: "test").version == 3)
        #expect(try store.modelVersions(group: "G").count == 3)
    }

    @Test func latestApprovedSkipsPendingAndRejected() throws {
        let (store, _) = try Self.freshStore()
        _ = try store.registerModelVersion(Self.version("G", .approved, hash: 1), by: "test")
        _ = try store.registerModelVersion(Self.version("G", .approved, hash: 2), by: "test")
        _ = try store.registerModelVersion(Self.version("G", .pendingManualApproval, hash: 3), by: "test")
        #expect(try store.latestModelVersion(group: "G", status: .approved)?.version == 2)
        #expect(try store.latestModelVersion(group: "G", status: nil)?.version == 3)
        _ = try store.setApprovalStatus(group: "G", version: 2, status: .rejected, by: "ana", reason: "drift", now: 10)
        #expect(try store.latestModelVersion(group: "G", status: .approved)?.version == 1)
        _ = try store.setApprovalStatus(group: "G", version: 3, status: .approved, by: "bo", reason: "ok", now: 11)
        let latest = try #require(try store.latestModelVersion(group: "G", status: .approved))
        #expect(latest.reference == "G/3")
        #expect(latest.inputHashes == ["Model": "sha256:3"])
        #expect(try store.latestModelVersion(group: "Missing", status: .approved) == nil)
    }

    @Test func approvalsRejectionsAndAliasMovesAreAudited() throws {
        let (store, path) = try Self.freshStore()
        _ = try store.registerModelVersion(Self.version("G", .pendingManualApproval, hash: 1), by: "test")
        _ = try store.registerModelVersion(Self.version("G", .pendingManualApproval, hash: 2), by: "test")
        _ = try store.setApprovalStatus(group: "G", version: 1, status: .approved, by: "ana", reason: "good", now: 5)
        _ = try store.setApprovalStatus(group: "G", version: 1, status: .rejected, by: "bo", reason: "leak", now: 6)
        try store.setAlias(group: "G", alias: "champion", version: 1, by: "ana", reason: "first", now: 7)
        try store.setAlias(group: "G", alias: "champion", version: 2, by: "ana", reason: "better", now: 8)
        #expect(try store.aliasedVersion(group: "G", alias: "champion")?.version == 2)
        let events = try store.modelEvents(group: "G")
        #expect(events.map(\.kind) == ["registered", "registered", "approved", "rejected", "alias", "alias"])
        #expect(events[2].by == "ana" && events[2].reason == "good" && events[2].time == 5)
        #expect(events[3].by == "bo" && events[3].reason == "leak")
        #expect(events[5].alias == "champion" && events[5].version == 2)
        #expect(try store.modelVersion(group: "G", version: 1)?.status == .rejected)

        #expect(throws: ModelRegistryError.self) {
            try store.setApprovalStatus(group: "G", version: 9, status: .approved, by: "x", reason: "", now: 9)
        }
        #expect(throws: ModelRegistryError.self) {
            try store.setAlias(group: "Nope", alias: "champion", version: 1, by: "x", reason: "", now: 9)
        }
        // The audit log refuses edits at the SQLite level.
        let database = try DatabaseQueue(path: path)
        #expect(throws: DatabaseError.self) {
            try database.write { try $0.execute(sql: "UPDATE model_event SET actor = 'mallory'") }
        }
        #expect(throws: DatabaseError.self) { try database.write { try $0.execute(sql: "DELETE FROM model_event") } }
        #expect(try store.modelEvents(group: "G").allSatisfy { $0.by != "mallory" })
    }

    @Test func registerStepRejectsAnUnknownStatusNamingTheAllowedValues() async throws {
        let (store, path) = try Self.freshStore()
        let folder = (path as NSString).deletingLastPathComponent
        try Data("{}".utf8).write(to: URL(fileURLWithPath: folder + "/model.json"))
        let step = RegisterModelStep(registry: store, artifacts: ArtifactStore(root: folder + "/artifacts"))
        var context = BuiltinStepContext(
            inputs: ["Model": .string(folder + "/model.json"), "ModelPackageGroup": "G", "ApprovalStatus": "Aproved"],
            options: [:], workDirectory: folder + "/work", executionID: "e1", stepName: "Register")
        do {
            _ = try await step.run(context)
            Issue.record("an unknown status was accepted")
        } catch let failure as StepFailure {
            #expect(failure.cause.contains("'Aproved'"))
            #expect(failure.cause.contains(ModelApprovalStatus.allowedValues))
        }
        #expect(try store.modelGroups().isEmpty)
        context.inputs["ApprovalStatus"] = nil
        let outputs = try await step.run(context)
        #expect(outputs["ModelVersion"] == "G/1" && outputs["ModelVersionNumber"] == 1)
        #expect(try store.modelVersion(group: "G", version: 1)?.status == .pendingManualApproval)
    }
}

@Suite(.serialized) struct RegistryProcessTests {
    static let examples =
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path + "/examples"

    /// W1 through the real binary: split, train, evaluate, gate, register.
    @Test func diabetesPipelineRegistersAnApprovedVersion() throws {
        let sandbox = try Sandbox()
        let (status, output) = try sandbox.run([
            "run", Self.examples + "/w1-diabetes/pipeline.yaml", "-p",
            "InputData=\(Self.examples)/data/diabetes_scaled.csv",
        ])
        #expect(status == 0, "\(output)")
        let store = try SQLiteStore(path: sandbox.home + "/sluice.db")
        let execution = try #require(try store.executions(limit: 1).first)
        #expect(execution.status == .succeeded)
        let registered = try #require(try store.latestModelVersion(group: "DiabetesModelGroup", status: .approved))
        #expect(registered.version == 1)
        #expect(registered.executionID == execution.id && registered.stepName == "Register")
        #expect(registered.artifactHash.hasPrefix("sha256:"))
        #expect(FileManager.default.fileExists(atPath: registered.artifactPath))
        let r2 = try #require(
            registered.metrics?[path: [.key("regression_metrics"), .key("r2"), .key("value")]]?.number)
        #expect((0.46...0.48).contains(r2))

        let (pendingStatus, pendingOutput) = try sandbox.run([
            "run", Self.examples + "/w1-diabetes/pipeline.yaml", "-p",
            "InputData=\(Self.examples)/data/diabetes_scaled.csv", "-p", "ModelApprovalStatus=PendingManualApproval",
        ])
        #expect(pendingStatus == 0, "\(pendingOutput)")
        let versions = try store.modelVersions(group: "DiabetesModelGroup")
        #expect(versions.map(\.status) == [.approved, .pendingManualApproval])
    }

    /// `sluice models` over a store W1 registered into: list as JSON, reject with a reason, alias, unknown version.
    @Test func modelsCommandListsDecidesAndAliases() throws {
        let sandbox = try Sandbox()
        let (status, output) = try sandbox.run([
            "run", Self.examples + "/w1-diabetes/pipeline.yaml", "-p",
            "InputData=\(Self.examples)/data/diabetes_scaled.csv",
        ])
        #expect(status == 0, "\(output)")
        let (listStatus, listed) = try sandbox.run(["models", "list", "DiabetesModelGroup", "--format", "json"])
        #expect(listStatus == 0, "\(listed)")
        let versions = try #require(try JSONDecoder().decode(JSONValue.self, from: Data(listed.utf8)).array)
        #expect(versions.count == 1)
        #expect(versions.first?["status"] == "Approved" && versions.first?["version"] == 1)

        #expect(
            try sandbox.run(["models", "reject", "DiabetesModelGroup/1", "--reason", "leak", "--by", "ana"]).0 == 0)
        #expect(try sandbox.run(["models", "alias", "DiabetesModelGroup/1", "champion"]).0 == 0)
        let (missing, message) = try sandbox.run(["models", "approve", "DiabetesModelGroup/7"])
        #expect(missing != 0 && message.contains("no version 7"))

        let store = try SQLiteStore(path: sandbox.home + "/sluice.db")
        #expect(try store.latestModelVersion(group: "DiabetesModelGroup", status: .approved) == nil)
        #expect(try store.aliasedVersion(group: "DiabetesModelGroup", alias: "champion")?.version == 1)
        let rejection = try #require(try store.modelEvents(group: "DiabetesModelGroup").first { $0.kind == "rejected" })
        #expect(rejection.by == "ana" && rejection.reason == "leak")
    }
}
