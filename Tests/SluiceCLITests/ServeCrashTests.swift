import Foundation
import SluiceCore
import SluiceStore
import Synchronization
import Testing

/// A count shared by concurrent tasks.
final class Counter: Sendable {
    private let count = Atomic<Int>(0)
    func add() { count.add(1, ordering: .relaxed) }
    var value: Int { count.load(ordering: .relaxed) }
}

@Suite(.serialized) struct ServeCrashTests {
    /// `kill -9` of `sluice serve` under load with capture at 100 %: every line of every capture file is whole
    /// JSON, and the key's stored quota count never exceeds the requests admitted and includes every request
    /// admitted before the last flush that the test saw land.
    @Test func killNineUnderLoadTearsNoCaptureLineAndLosesNoFlushedCount() async throws {
        let sandbox = try ServingSandbox()
        try sandbox.register("G", slope: 2)
        #expect(
            try sandbox.run(["endpoints", "deploy", "w1", "G/1", "--stage", "production", "--capture-percent", "100"])
                .status == 0)
        let key = try sandbox.run(["keys", "create", "--daily-quota", "1000000"]).out
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let server = try sandbox.start(["serve", "--port", "0"])
        defer {
            if server.process.isRunning { kill(server.process.processIdentifier, SIGKILL) }
            server.process.waitUntilExit()
        }
        let port = try #require(
            await server.firstMatch(of: /listening on http:\/\/127\.0\.0\.1:(\d+)/).flatMap { Int($0) })
        let admitted = Counter()
        @Sendable func load(_ count: Int) async {
            await withTaskGroup(of: Void.self) { group in
                for _ in 0..<4 {
                    group.addTask {
                        for _ in 0..<count {
                            guard let reply = try? await post(port, "/production/stream", #"{"x": [[1]]}"#, key: key)
                            else { return }
                            if reply.status == 200 { admitted.add() }
                        }
                    }
                }
            }
        }
        // A first burst, then wait until its counts are flushed to the store (every half second).
        await load(50)
        let settled = admitted.value
        #expect(settled == 200)
        #expect(try await eventually { try sandbox.store.keyUsage().first?.dayCount == settled })
        // Load again, and kill the server in the middle of it.
        let burst = Task { await load(10_000) }
        #expect(await eventually { admitted.value > settled + 200 })
        kill(server.process.processIdentifier, SIGKILL)
        server.process.waitUntilExit()
        await burst.value
        let total = admitted.value
        let stored = try #require(try sandbox.store.keyUsage().first?.dayCount)
        #expect(stored >= settled && stored <= total, "stored \(stored), admitted \(settled)…\(total)")
        print("serve kill -9: \(total) admitted, \(stored) counted in the store, \(total - stored) in the last flush")

        let files =
            FileManager.default.enumerator(atPath: sandbox.homePath + "/capture")?.compactMap { $0 as? String }
            .filter { $0.hasSuffix(".jsonl") } ?? []
        #expect(!files.isEmpty)
        var lines = 0
        for file in files {
            let text = String(
                decoding: FileManager.default.contents(atPath: sandbox.homePath + "/capture/" + file) ?? Data(),
                as: UTF8.self)
            #expect(text.isEmpty || text.hasSuffix("\n"), "\(file) ends in a torn line")
            for line in text.split(separator: "\n") {
                lines += 1
                #expect(
                    (try? JSONDecoder().decode(JSONValue.self, from: Data(line.utf8))) != nil,
                    "\(file): torn line \(line.prefix(80))")
            }
        }
        #expect(lines >= settled)
    }
}
