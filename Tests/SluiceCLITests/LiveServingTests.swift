import Foundation
import ServiceLifecycle
import SluiceCore
import SluiceStore
import Synchronization
import Testing

@testable import SluiceCLI

/// Runs the store-backed server of `sandbox` on an ephemeral port for the duration of `body`.
func withStoreServer(
    _ sandbox: ServingSandbox, pollInterval: Duration = .milliseconds(50), _ body: @Sendable (Int) async throws -> Void
) async throws {
    let runtime = try ServeRuntime(
        home: SluiceHome(path: sandbox.homePath), store: sandbox.store,
        configuration: .init(host: "127.0.0.1", port: 0, pollInterval: pollInterval))
    let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
    let group = runtime.serviceGroup(signals: []) { continuation.yield($0) }
    try await withThrowingTaskGroup(of: Void.self) { tasks in
        tasks.addTask { try await group.run() }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next() else { return }
        do {
            try await body(port)
        } catch {
            await group.triggerGracefulShutdown()
            throw error
        }
        await group.triggerGracefulShutdown()
        try await tasks.waitForAll()
    }
}

/// What the load generators share.
final class LoadState: Sendable {
    let stop = Locked(false)
    let failures = Locked<[String]>([])
    let answers = Locked<Set<String>>([])
    let latest = Locked<String>("")
}

final class Locked<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>
    init(_ value: Value) { mutex = Mutex(value) }
    func withLock<Result>(_ body: (inout Value) -> Result) -> Result { mutex.withLock { body(&$0) } }
}

@Suite struct LiveServingTests {
    /// A key created in the store works on the running server at once; once revoked, the server refuses it after a
    /// poll.
    @Test func revokedKeyIsRefusedByTheRunningServer() async throws {
        let sandbox = try ServingSandbox()
        try sandbox.register("G", slope: 2, intercept: 1)
        _ = try sandbox.store.deploy(
            endpoint: "w1", stage: "production", variant: DeployedVariant(name: "AllTraffic", group: "G", version: 1),
            replacing: true, allowUnapproved: false, capturePercentage: nil, by: "t", reason: "", now: 1)
        try await withStoreServer(sandbox) { port in
            let body = #"{"x": [[0.5]]}"#
            #expect(try await post(port, "/endpoints/w1/production/stream", body, key: "sk_unknown").status == 403)
            let key = "sk_test_\(UUID().uuidString)"
            try sandbox.store.createAPIKey(
                StoredAPIKey(
                    id: "key_t", name: "t", hashHex: SHA256.hex(key), createdAt: Date().timeIntervalSince1970))
            // At once: a key the server has not loaded yet is looked up in the store before it is refused.
            #expect(try await post(port, "/endpoints/w1/production/stream", body, key: key).status == 200)
            let answer = try await post(port, "/production/stream", body, key: key)
            #expect(answer.body == "2.0" && answer.variant == "AllTraffic")

            // Usage plans from the store: a token bucket of one request per 100 s, and a daily quota of one.
            let limited: [(id: String, secret: String, rate: Double?, quota: Int?)] = [
                ("key_rate", "sk_rate_\(UUID().uuidString)", 0.01, nil), ("key_day", "sk_day", nil, 1),
            ]
            for (id, secret, rate, quota) in limited {
                try sandbox.store.createAPIKey(
                    StoredAPIKey(
                        id: id, name: id, hashHex: SHA256.hex(secret), createdAt: Date().timeIntervalSince1970,
                        rate: rate, burst: rate.map { _ in 1 }, dailyQuota: quota))
                #expect(
                    try await eventually { try await post(port, "/production/stream", body, key: secret).status == 200 }
                )
                let refused = try await post(port, "/production/stream", body, key: secret)
                #expect(refused.status == 429 && refused.retryAfter != nil, "\(id): \(refused.body)")
            }

            // A key scoped to another endpoint is refused here and accepted there.
            _ = try sandbox.store.deploy(
                endpoint: "other", stage: "production",
                variant: DeployedVariant(name: "AllTraffic", group: "G", version: 1), replacing: true,
                allowUnapproved: false, capturePercentage: nil, by: "t", reason: "", now: 2)
            let scoped = "sk_scoped_\(UUID().uuidString)"
            try sandbox.store.createAPIKey(
                StoredAPIKey(
                    id: "key_s", name: "s", hashHex: SHA256.hex(scoped), createdAt: Date().timeIntervalSince1970,
                    endpoint: "other"))
            #expect(
                try await eventually {
                    try await post(port, "/endpoints/other/production/stream", body, key: scoped).status == 200
                })
            let elsewhere = try await post(port, "/endpoints/w1/production/stream", body, key: scoped)
            #expect(elsewhere.status == 403 && elsewhere.body.contains("may only call endpoint 'other'"))

            try sandbox.store.revokeAPIKey(id: "key_t", now: Date().timeIntervalSince1970)
            let refused = try await eventually {
                try await post(port, "/endpoints/w1/production/stream", body, key: key).status == 403
            }
            #expect(refused)
            // Two endpoints now: the unqualified route names neither, and answers so before looking at the key.
            #expect(try await post(port, "/production/stream", body, key: key).status == 404)
            #expect(try await post(port, "/endpoints/w1/production/stream", body, key: key).body.contains("revoked"))
        }
    }

    /// Under continuous load: staging gets a new version, it is promoted, then rolled back; every request succeeds
    /// and the answers follow each change.
    @Test func deployPromoteRollbackUnderLoadDropNoRequest() async throws {
        let sandbox = try ServingSandbox()
        try sandbox.register("G", slope: 1)  // answers 1 for x = 1
        try sandbox.register("G", slope: 3)  // answers 3
        let store = sandbox.store
        _ = try store.deploy(
            endpoint: "w1", stage: "staging", variant: DeployedVariant(name: "AllTraffic", group: "G", version: 1),
            replacing: true, allowUnapproved: false, capturePercentage: 50, by: "t", reason: "", now: 1)
        _ = try store.promote(
            endpoint: "w1", from: "staging", to: "production", allowUnapproved: false, by: "t", reason: "", now: 2)
        let key = "sk_load"
        try store.createAPIKey(StoredAPIKey(id: "key_load", name: "load", hashHex: SHA256.hex(key), createdAt: 0))

        try await withStoreServer(sandbox) { port in
            let state = LoadState()
            let (stop, failures, answers, latest) = (state.stop, state.failures, state.answers, state.latest)
            try await withThrowingTaskGroup(of: Void.self) { load in
                for _ in 0..<4 {
                    load.addTask {
                        while !stop.withLock({ $0 }) {
                            let result = try await post(port, "/endpoints/w1/production/stream", #"[[1]]"#, key: key)
                            if result.status != 200 {
                                failures.withLock { $0.append("\(result.status) \(result.body)") }
                            }
                            answers.withLock { _ = $0.insert(result.body) }
                            latest.withLock { $0 = result.body }
                        }
                    }
                }
                func served(_ expected: String) async -> Bool {
                    await eventually { latest.withLock { $0 } == expected }
                }
                #expect(await served("1.0"))
                _ = try store.deploy(
                    endpoint: "w1", stage: "staging",
                    variant: DeployedVariant(name: "AllTraffic", group: "G", version: 2), replacing: true,
                    allowUnapproved: false, capturePercentage: nil, by: "t", reason: "", now: 3)
                let staging = try await eventually {
                    try await post(port, "/endpoints/w1/staging/stream", "[[1]]", key: key).body == "3.0"
                }
                #expect(staging)
                _ = try store.promote(
                    endpoint: "w1", from: "staging", to: "production", allowUnapproved: false, by: "t", reason: "",
                    now: 4)
                #expect(await served("3.0"))
                _ = try store.rollback(endpoint: "w1", stage: "production", by: "t", reason: "", now: 5)
                #expect(await served("1.0"))
                stop.withLock { $0 = true }
                try await load.waitForAll()
            }
            #expect(failures.withLock { $0 }.isEmpty, "\(failures.withLock { $0.prefix(3) })")
            #expect(answers.withLock { $0 } == ["1.0", "3.0"])
        }
        // Capture at 50 % wrote SageMaker-shaped lines under .sluice/capture/<endpoint>/<stage>/<variant>/….
        let capture = sandbox.homePath + "/capture/w1/production/AllTraffic"
        let files = FileManager.default.enumerator(atPath: capture)?.compactMap { $0 as? String } ?? []
        #expect(files.contains { $0.hasSuffix(".jsonl") }, "no capture file under \(capture)")
    }
}
