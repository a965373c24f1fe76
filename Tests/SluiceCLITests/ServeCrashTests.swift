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
        #expect(await eventually { captureLines(sandbox).count >= settled })
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

        let lines = captureLines(sandbox)
        #expect(!lines.isEmpty)
        for line in lines {
            #expect(line.hasSuffix("\n"), "a torn last line: \(line.prefix(80))")
            #expect(
                (try? JSONDecoder().decode(JSONValue.self, from: Data(line.utf8))) != nil,
                "a torn line: \(line.prefix(80))")
        }
        #expect(lines.count >= settled)
    }
}

/// Every line of every capture file under the sandbox (or under `root`), each with its newline (a torn last line has
/// none).
func captureLines(_ sandbox: ServingSandbox, root: String? = nil) -> [String] {
    let root = root ?? sandbox.homePath + "/capture"
    let files = FileManager.default.enumerator(atPath: root)?.compactMap { $0 as? String }.filter {
        $0.hasSuffix(".jsonl")
    }
    var lines: [String] = []
    for file in files ?? [] {
        let text = String(decoding: FileManager.default.contents(atPath: root + "/" + file) ?? Data(), as: UTF8.self)
        var parts = text.components(separatedBy: "\n")
        let last = parts.removeLast()
        lines += parts.map { $0 + "\n" }
        if !last.isEmpty { lines.append(last) }
    }
    return lines
}
