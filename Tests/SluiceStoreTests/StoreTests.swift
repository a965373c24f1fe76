import Foundation
import GRDB
import SluiceCore
import Testing

@testable import SluiceStore

@Suite struct StoreTests {
    let folder = NSTemporaryDirectory() + "sluice-store-\(UUID().uuidString)"

    func open(_ writer: StoreWriter) throws -> SQLiteStore { try writer.open(in: folder) }

    func newExecution(_ id: String, max: Int = 1, hash: String = "sha256:abc") -> NewExecution {
        NewExecution(
            id: id, pipelineName: "p", pipelineHash: hash, pipelineDefinition: "{}", parameters: ["k": 1],
            stepNames: ["A", "B"], maxConcurrentExecutions: max, createdAt: 1)
    }

    @Test(arguments: StoreWriter.allCases) func transitionsAreCompareAndSet(_ writer: StoreWriter) throws {
        let store = try open(writer)
        try store.createExecution(newExecution("e1"))
        var changes = ExecutionChanges(executionID: "e1", now: 2)
        changes.steps = [.init(from: .pending, record: StepRecord(name: "A", status: .running, attempt: 1))]
        changes.attempts = [AttemptRecord(step: "A", number: 1, status: .running, startedAt: 2)]
        try store.apply(changes)
        // The same transition again finds A no longer pending: refused, and nothing of the batch is applied.
        changes.events = [ExecutionEvent(time: 3, step: "A", attempt: 1, kind: "x", message: "")]
        #expect(throws: StoreError.self) { try store.apply(changes) }
        #expect(try store.events(executionID: "e1").allSatisfy { $0.kind != "x" })
        #expect(try store.steps(executionID: "e1").first?.status == .running)
        // An illegal transition is refused too.
        var illegal = ExecutionChanges(executionID: "e1", now: 3)
        illegal.steps = [.init(from: .running, record: StepRecord(name: "A", status: .pending, attempt: 1))]
        #expect(throws: StoreError.self) { try store.apply(illegal) }
    }

    @Test(arguments: StoreWriter.allCases) func logsAndHistoriesAreAppendOnly(_ writer: StoreWriter) throws {
        let store = try open(writer)
        let triggers = try store.writer.read { db in
            try String.fetchAll(
                db, sql: "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE '%append_only%'")
        }
        #expect(
            Set(triggers)
                == Set(
                    ["event", "model_event", "deployment", "deployment_variant"].flatMap {
                        ["\($0)_is_append_only_update", "\($0)_is_append_only_delete"]
                    } + ["feature_record_is_append_only_update"]))
        try store.createExecution(newExecution("e1"))
        var changes = ExecutionChanges(executionID: "e1", now: 2)
        changes.events = [ExecutionEvent(time: 2, step: nil, attempt: nil, kind: "note", message: "kept")]
        try store.apply(changes)
        for sql in ["UPDATE event SET message = 'changed'", "DELETE FROM event"] {
            let refusal = #expect(throws: (any Error).self) { try store.writer.write { try $0.execute(sql: sql) } }
            #expect(refusal.map { "\($0)" }?.contains("the event log is append-only") == true, "\(sql)")
        }
        #expect(try store.events(executionID: "e1").contains { $0.message == "kept" })
    }

    @Test(arguments: StoreWriter.allCases) func claimRespectsTheConcurrencyLimitAndLiveOwners(_ writer: StoreWriter)
        throws
    {
        let store = try open(writer)
        try store.createExecution(newExecution("e1"))
        try store.createExecution(newExecution("e2"))
        let one = LeaseOwner(id: "one", pid: 1)
        let two = LeaseOwner(id: "two", pid: 2)
        #expect(try store.claim(executionID: "e1", owner: one, now: 10, leaseSeconds: 30) { _ in true } == .claimed)
        #expect(
            try store.claim(executionID: "e2", owner: two, now: 10, leaseSeconds: 30) { _ in true }
                == .queued(running: 1))
        #expect(
            try store.claim(executionID: "e1", owner: two, now: 11, leaseSeconds: 30) { _ in true }
                == .ownedByOther(pid: 1))
        // The owner died: take over.
        #expect(try store.claim(executionID: "e1", owner: two, now: 12, leaseSeconds: 30) { _ in false } == .claimed)
        #expect(try store.renewLease(executionID: "e1", owner: one, now: 13, leaseSeconds: 30).held == false)
        #expect(try store.claim(executionID: "nope", owner: two, now: 12, leaseSeconds: 30) { _ in true } == .notFound)
    }

    /// A process waiting in the queue holds the execution; a server adopts a queued execution only once its waiter
    /// is gone, or when nobody claimed it within the grace after it was made.
    @Test(arguments: StoreWriter.allCases) func queuedExecutionsAreAdoptedOnlyWhenTheirWaiterIsGone(
        _ writer: StoreWriter
    ) throws {
        let store = try open(writer)
        try store.createExecution(newExecution("e1"))
        try store.createExecution(newExecution("e2"))
        try store.createExecution(newExecution("e3"))  // made at t = 1 by a process that died before claiming
        let one = LeaseOwner(id: "one", pid: 1)
        let waiter = LeaseOwner(id: "waiter", pid: 2)
        let server = LeaseOwner(id: "server", pid: 3)
        #expect(try store.executionsToAdopt(now: 2).isEmpty, "new executions belong to their makers for a while")
        #expect(try store.claim(executionID: "e1", owner: one, now: 2, leaseSeconds: 30) { _ in true } == .claimed)
        #expect(
            try store.claim(executionID: "e2", owner: waiter, now: 3, leaseSeconds: 30) { _ in true }
                == .queued(running: 1))
        #expect(try store.executionsToAdopt(now: 4) == ["e1", "e2"])
        // The waiter is alive and its lease runs: the server leaves e2 alone.
        #expect(
            try store.claim(executionID: "e2", owner: server, now: 4, leaseSeconds: 30) { _ in true }
                == .ownedByOther(pid: 2))
        // The waiter died: the server waits in its place, and gets the slot once e1 is done.
        #expect(
            try store.claim(executionID: "e2", owner: server, now: 5, leaseSeconds: 30) { $0 == 1 }
                == .queued(running: 1))
        var done = ExecutionChanges(executionID: "e1", now: 6)
        done.executionStatus = (.succeeded, nil)
        try store.apply(done)
        #expect(try store.claim(executionID: "e2", owner: server, now: 7, leaseSeconds: 30) { _ in true } == .claimed)
        #expect(try store.executionsToAdopt(now: 40) == ["e2", "e3"], "e3 was never claimed within the grace")
    }

    /// A pool resets `synchronous` while preparing its connections: the store sets it on the writer once opened.
    @Test func durabilityIsTheWritersSynchronousLevel() throws {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        for (durability, level) in [(SQLiteStore.Durability.power, 2), (.process, 1)] {
            let store = try SQLiteStore(path: "\(folder)/\(durability.rawValue).db", durability: durability)
            #expect(try store.writer.write { try Int.fetchOne($0, sql: "PRAGMA synchronous") } == level)
        }
    }

    /// `SLUICE_DURABILITY` picks the mode (power by default); another value is refused naming it and the two it takes.
    @Test func durabilityComesFromTheEnvironment() throws {
        #expect(try SluiceHome.durability(environment: [:]) == .power)
        #expect(try SluiceHome.durability(environment: ["SLUICE_DURABILITY": "process"]) == .process)
        let error = #expect(throws: DurabilityError.self) {
            try SluiceHome.durability(environment: ["SLUICE_DURABILITY": "fast"])
        }
        let message = error?.description ?? ""
        #expect(
            message.contains("'fast'") && message.contains("'power'") && message.contains("'process'"), "\(message)")
    }

    @Test(arguments: StoreWriter.allCases) func creationIsLogged(_ writer: StoreWriter) throws {
        let store = try open(writer)
        try store.createExecution(newExecution("e1"))
        #expect(try store.events(executionID: "e1").count == 1)
    }

    @Test(arguments: StoreWriter.allCases) func approvalTokensWorkOnce(_ writer: StoreWriter) throws {
        let store = try open(writer)
        try store.createExecution(newExecution("e1"))
        var changes = ExecutionChanges(executionID: "e1", now: 2)
        changes.approvals = [.init(tokenHash: SHA256.hex("tok"), step: "A", attempt: 1, message: "ok?", expiresAt: 100)]
        try store.apply(changes)
        let decided = try store.decideApproval(tokenHash: SHA256.hex("tok"), approve: false, reason: "bad", now: 3)
        #expect(decided.decision == .rejected(reason: "bad"))
        #expect(throws: StoreError.self) {
            try store.decideApproval(tokenHash: SHA256.hex("tok"), approve: true, reason: "", now: 4)
        }
        #expect(throws: StoreError.self) {
            try store.decideApproval(tokenHash: SHA256.hex("other"), approve: true, reason: "", now: 4)
        }
    }

    @Test func identicalContentHasOneAddressWhereverItLives() throws {
        try FileManager.default.createDirectory(atPath: "\(folder)/a/sub", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: "\(folder)/b/sub", withIntermediateDirectories: true)
        for side in ["a", "b"] {
            try Data("x,y\n1,2\n".utf8).write(to: URL(fileURLWithPath: "\(folder)/\(side)/sub/data.csv"))
        }
        let artifacts = ArtifactStore(root: "\(folder)/artifacts")
        let a = try artifacts.ingest(path: "\(folder)/a")
        let b = try artifacts.contentHash(path: "\(folder)/b")
        #expect(a == b)
        #expect(a.kind == .folder && a.size == 8)
        let file = try artifacts.ingest(path: "\(folder)/a/sub/data.csv")
        #expect(FileManager.default.contents(atPath: artifacts.location(of: file.hash)) == Data("x,y\n1,2\n".utf8))
    }

    /// A file of several reads' worth is hashed and copied in one pass: stored whole under its digest; storing the
    /// same content again keeps the first copy and leaves no temporary file behind.
    @Test func aFileOfManyReadsIsStoredWholeAndItsTwinLeavesNoTemporaryFile() throws {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let bytes = (0..<3_500_000).map { UInt8(truncatingIfNeeded: ($0 &* 2_654_435_761) >> 13) }
        try Data(bytes).write(to: URL(fileURLWithPath: "\(folder)/big.bin"))
        try Data(bytes).write(to: URL(fileURLWithPath: "\(folder)/twin.bin"))
        let artifacts = ArtifactStore(root: "\(folder)/artifacts")
        let stored = try artifacts.ingest(path: "\(folder)/big.bin")
        #expect(stored == ArtifactReference(hash: "sha256:" + SHA256.hex(bytes), kind: .file, size: bytes.count))
        #expect(FileManager.default.contents(atPath: artifacts.location(of: stored.hash)) == Data(bytes))
        #expect(try artifacts.ingest(path: "\(folder)/twin.bin") == stored)
        #expect(try artifacts.contentHash(path: "\(folder)/twin.bin") == stored)
        let left = try FileManager.default.subpathsOfDirectory(atPath: "\(folder)/artifacts")
        #expect(left.filter { $0.contains(".tmp-") }.isEmpty, "\(left)")
    }
}
