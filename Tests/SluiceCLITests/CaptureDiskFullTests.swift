import Foundation
import SluiceCore
import Testing

@Suite(.serialized) struct CaptureDiskFullTests {
    /// The disk holding the capture folder fills while `sluice serve` captures every request (a 128 KiB tmpfs, half
    /// of it taken by a filler file, in the server's own mount namespace): every request is still answered, the
    /// records the disk refused are counted in `/metrics` and logged once with the file's path, the cause and the
    /// fix, every capture file holds whole JSON lines only, as many as counted written, and once space is back
    /// (the filler removed) capture resumes, and the log says so.
    @Test func diskFullWhileCapturingKeepsAnswering() async throws {
        guard getuid() == 0 else {
            Issue.record("mounting a small filesystem needs root (CI runs as root)")
            return
        }
        let sandbox = try ServingSandbox()
        try sandbox.register("G", slope: 2)
        #expect(
            try sandbox.run(["endpoints", "deploy", "w1", "G/1", "--stage", "production", "--capture-percent", "100"])
                .status == 0)
        let key = try sandbox.run(["keys", "create", "--daily-quota", "1000000"]).out.trimmingCharacters(
            in: .whitespacesAndNewlines)
        let capture = sandbox.homePath + "/capture"
        let server = try sandbox.start(
            ["serve", "--port", "0"],
            inNamespaceAfter: """
                mkdir -p "\(capture)" && mount -t tmpfs -o size=128k sluice-test "\(capture)" || exit 90
                dd if=/dev/zero of="\(capture)/filler" bs=64k count=1 || exit 91
                """)
        defer {
            if server.process.isRunning { kill(server.process.processIdentifier, SIGKILL) }
            server.process.waitUntilExit()
        }
        let port = try #require(
            await server.firstMatch(of: /listening on http:\/\/127\.0\.0\.1:(\d+)/).flatMap { Int($0) },
            "\(server.output())")
        // The capture folder as the server sees it, through its mount namespace.
        let root = "/proc/\(server.process.processIdentifier)/root\(capture)"
        @Sendable func load(_ requests: Int) async -> Int {
            await withTaskGroup(of: Int.self) { group in
                for worker in 0..<4 {
                    group.addTask {
                        var answered = 0
                        for _ in stride(from: worker, to: requests, by: 4) {
                            let reply = try? await post(port, "/production/stream", #"{"x": [[1]]}"#, key: key)
                            if reply?.status == 200 { answered += 1 }
                        }
                        return answered
                    }
                }
                return await group.reduce(0, +)
            }
        }
        func counts() async -> [String: Int] {
            guard let metrics = try? await get(port, "/metrics").body else { return [:] }
            var counts: [String: Int] = [:]
            for match in metrics.matches(of: /sluice_capture_records_total\{outcome="(\w+)"\} (\d+)/) {
                counts[String(match.1)] = Int(match.2)
            }
            return counts
        }

        // About 1,000 records of ~330 bytes: several times the 64 KiB left.
        #expect(await load(1000) == 1000, "every request is answered while the disk is full")
        #expect(await eventually { await counts().values.reduce(0, +) == 1000 })
        let full = await counts()
        let written = try #require(full["written"])
        #expect(full["failed", default: 0] > 0 && written > 0 && full["dropped"] == 0, "\(full)")
        let log = server.output()
        #expect(log.contains("capture: cannot write \(capture)/w1/production/"), "\(log)")
        #expect(log.contains("No space left on device"), "\(log)")
        #expect(log.contains("Fix: free space on the disk holding \(capture)"), "\(log)")
        // Logged once per run of failures, not per batch: a failure follows a recovery or nothing.
        #expect(!Self.failuresAndRecoveries(log).contains("FF"), "\(log)")
        func expectWholeLines(count: Int) {
            let lines = captureLines(sandbox, root: root)
            #expect(lines.count == count, "as many lines as records counted written")
            for line in lines {
                #expect(line.hasSuffix("\n"), "a torn last line: \(line.prefix(80))")
                #expect(
                    (try? JSONDecoder().decode(JSONValue.self, from: Data(line.utf8))) != nil,
                    "a torn line: \(line.prefix(80))")
            }
        }
        expectWholeLines(count: written)

        // Space back: the next records are written, none lost.
        try FileManager.default.removeItem(atPath: root + "/filler")
        #expect(await load(50) == 50)
        let resumed = await eventually { await counts()["written"] == written + 50 }
        let after = await counts()
        #expect(resumed, "\(after)")
        #expect(after["failed"] == full["failed"], "\(after)")
        #expect(Self.failuresAndRecoveries(server.output()).hasSuffix("FW"), "\(server.output())")
        expectWholeLines(count: written + 50)
    }

    /// The capture writer's log as a word: `F` for each failure logged, `W` for each "writing again".
    static func failuresAndRecoveries(_ log: String) -> String {
        log.split(separator: "\n").compactMap { line in
            line.contains("capture: cannot write") ? "F" : line.contains("capture: writing again") ? "W" : nil
        }.joined()
    }
}
