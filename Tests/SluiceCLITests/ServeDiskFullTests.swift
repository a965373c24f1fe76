import Foundation
import SluiceCore
import SluiceTesting
import Testing

@Suite(.serialized) struct ServeDiskFullTests {
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
        let (sandbox, key) = try await Self.deployed(capturePercent: 100)
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

    /// The disk holding the database fills while `sluice serve` answers (the home copied onto a 4 MiB tmpfs in the
    /// server's own mount namespace, then filled): every request is still answered, the quota counts that cannot
    /// be kept are logged with the database's path, the cause and the fix, `PRAGMA integrity_check` is ok, and once
    /// space is back the counts the full disk refused are kept too.
    @Test func diskFullWhileKeepingQuotaCountsKeepsAnswering() async throws {
        guard getuid() == 0 else {
            Issue.record("mounting a small filesystem needs root (CI runs as root)")
            return
        }
        let (sandbox, key) = try await Self.deployed(capturePercent: 0)
        let home = sandbox.homePath
        // The home moves onto the small filesystem, its write-ahead log emptied so that new commits need new space.
        let server = try sandbox.start(
            ["serve", "--port", "0"],
            inNamespaceAfter: """
                cp -a "\(home)/." "\(sandbox.folder)/home-copy" || exit 90
                mount -t tmpfs -o size=4m sluice-test "\(home)" || exit 91
                cp -a "\(sandbox.folder)/home-copy/." "\(home)/" || exit 92
                python3 -c 'import sqlite3, sys; sqlite3.connect(sys.argv[1]).execute("pragma wal_checkpoint(truncate)")' \
                    "\(home)/sluice.db" || exit 93
                """)
        defer {
            if server.process.isRunning { kill(server.process.processIdentifier, SIGKILL) }
            server.process.waitUntilExit()
        }
        let port = try #require(
            await server.firstMatch(of: /listening on http:\/\/127\.0\.0\.1:(\d+)/).flatMap { Int($0) },
            "\(server.output())")
        // The home as the server sees it, through its mount namespace.
        let root = "/proc/\(server.process.processIdentifier)/root\(home)"
        /// The first value `sql` answers in the server's database, read inside its mount namespace (SQLite would
        /// resolve a `/proc/PID/root` path to the file outside it).
        func query(_ sql: String) async throws -> String {
            let python = Process()
            python.executableURL = URL(fileURLWithPath: "/usr/bin/nsenter")
            python.arguments = [
                "-t", String(server.process.processIdentifier), "-m", "/usr/bin/python3", "-c",
                "import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute(sys.argv[2]).fetchone()[0])",
                home + "/sluice.db", sql,
            ]
            let output = try await runOffThePool(python).output
            return String(decoding: output, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        }
        func answered(_ requests: Int) async -> Int {
            var answered = 0
            for _ in 0..<requests {
                let reply = try? await post(port, "/production/stream", #"{"x": [[1]]}"#, key: key)
                if reply?.status == 200 { answered += 1 }
            }
            return answered
        }
        func kept() async -> String? { try? await query("select day_count from api_key_usage") }
        func integrity() async throws -> String { try await query("pragma integrity_check") }

        #expect(await answered(50) == 50)
        #expect(await eventually { await kept() == "50" })
        // Fill the disk to its last block.
        #expect(FileManager.default.createFile(atPath: root + "/filler", contents: nil))
        let handle = try #require(FileHandle(forWritingAtPath: root + "/filler"))
        while (try? handle.write(contentsOf: Data(count: 4096))) != nil {}
        try handle.close()

        #expect(await answered(50) == 50, "every request is answered while the disk is full")
        let message = "cannot keep quota counts in the store: \(home)/sluice.db: no space left on the disk"
        #expect(await eventually { server.output().contains(message) }, "\(server.output())")
        #expect(server.output().contains("Fix: free space on the filesystem holding \(home)"))
        #expect(try await integrity() == "ok")
        #expect(await kept() == "50", "nothing of the refused commits was kept")

        try FileManager.default.removeItem(atPath: root + "/filler")
        #expect(
            await eventually { await kept() == "100" }, "the counts the full disk refused are kept once space is back")
        #expect(try await integrity() == "ok")
    }

    /// A sandbox with `G/1` deployed as `w1`'s production stage capturing `capturePercent` % of requests, and a key;
    /// made on a thread of its own, as it waits on the processes it runs.
    static func deployed(capturePercent: Int) async throws -> (ServingSandbox, String) {
        try await onOwnThread {
            let sandbox = try ServingSandbox()
            try sandbox.register("G", slope: 2)
            let deploy = try sandbox.run(
                ["endpoints", "deploy", "w1", "G/1", "--stage", "production", "--capture-percent", "\(capturePercent)"])
            #expect(deploy.status == 0, "\(deploy.err)")
            let key = try sandbox.run(["keys", "create", "--daily-quota", "1000000"]).out
            return (sandbox, key.trimmingCharacters(in: .whitespacesAndNewlines))
        }
    }

    /// The capture writer's log as a word: `F` for each failure logged, `W` for each "writing again".
    static func failuresAndRecoveries(_ log: String) -> String {
        log.split(separator: "\n").compactMap { line in
            line.contains("capture: cannot write") ? "F" : line.contains("capture: writing again") ? "W" : nil
        }.joined()
    }
}
