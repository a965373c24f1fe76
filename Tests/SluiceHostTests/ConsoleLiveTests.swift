import Foundation
import SluiceCore
import SluiceML
import SluiceStore
import SluiceTesting
import Testing

@testable import SluiceCLI
@testable import SluiceConsole

/// What the console's pages follow live, read from their server-sent event streams as a browser would.
@Suite struct ConsoleLiveTests {
    /// A running step's log reaches the open execution's stream as it grows: the first event carries the tail so far
    /// (replacing what the page showed), a later one only the new line; the attempt goes from running to succeeded
    /// with its duration; the page, loaded anew, shows both lines.
    @Test func executionStreamCarriesLogLinesAsTheyGrow() async throws {
        try await withTalkingExecution { base, id, go in
            let stream = try EventStream(base, "/console/executions/\(id)/events")
            var first: [String: Any] = [:]
            var attempts: [[String: String]] = []
            while first.isEmpty {
                let state = try await stream.next("state")
                attempts = Self.field("attempts", of: state) ?? attempts
                first = Self.logs(state).first { ($0["text"] as? String ?? "") != "" } ?? [:]
            }
            #expect(attempts.map { "\($0["key"] ?? "") \($0["status"] ?? "")" } == ["Speak/1 running"], "\(attempts)")
            #expect(attempts.first?["duration"] == nil, "a running attempt's duration is not streamed")
            #expect(first["key"] as? String == "Speak/1/stdout.log" && first["replace"] as? Bool == true, "\(first)")
            #expect(first["text"] as? String == "first line\n", "\(first)")

            FileManager.default.createFile(atPath: go, contents: nil)
            var later: [[String: Any]] = []
            var finished = false
            while !finished {
                let state = try await stream.next("state")
                later += Self.logs(state)
                attempts = Self.field("attempts", of: state) ?? attempts
                finished = (Self.field("finished", of: state) as Bool?) == true
            }
            #expect(attempts.first?["status"] == "succeeded" && attempts.first?["duration"]?.isEmpty == false)
            let stdout = later.filter { $0["key"] as? String == "Speak/1/stdout.log" }
            #expect(stdout.map { $0["text"] as? String } == ["second line\n"], "only the new line: \(later)")
            #expect(stdout.allSatisfy { $0["replace"] as? Bool == false })

            let page = try await Browser(base: base).get("/console/executions/\(id)")
            #expect(
                page.body.contains(#"data-log="Speak/1/stdout.log">first line"#) && page.body.contains("second line"))
        }
    }

    /// Only a running attempt's logs are read again and again: a finished attempt's are read once after it
    /// finished, then no more (a line appended afterwards, which no step does, shows it).
    @Test func finishedAttemptsLogsAreNotReadAgain() throws {
        let scratch = try Scratch()
        defer { try? FileManager.default.removeItem(atPath: scratch.folder) }
        func append(_ line: String, to attempt: String) throws {
            let folder = scratch.folder + "/exec-1/" + attempt
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            let path = folder + "/stdout.log"
            if !FileManager.default.fileExists(atPath: path) {
                FileManager.default.createFile(atPath: path, contents: nil)
            }
            let handle = try #require(FileHandle(forWritingAtPath: path))
            defer { try? handle.close() }
            try handle.seekToEnd()
            try handle.write(contentsOf: Data(line.utf8))
        }
        var logs = AttemptLogs(executionsPath: scratch.folder, executionID: "exec-1")
        let done = AttemptRecord(step: "Done", number: 1, status: .succeeded, startedAt: 0, finishedAt: 1)
        var live = AttemptRecord(step: "Live", number: 1, status: .running, startedAt: 0)
        func read() -> [String] { logs.read([done, live]).map { "\($0.key) \($0.text)" } }
        try append("a\n", to: "Done/1")
        try append("a\n", to: "Live/1")
        #expect(read() == ["Done/1/stdout.log a\n", "Live/1/stdout.log a\n"])
        try append("b\n", to: "Done/1")
        try append("b\n", to: "Live/1")
        #expect(read() == ["Live/1/stdout.log b\n"])
        // The read after an attempt finished gets what it wrote last; later reads pass it by.
        live.status = .failed
        try append("c\n", to: "Live/1")
        #expect(read() == ["Live/1/stdout.log c\n"])
        try append("d\n", to: "Live/1")
        #expect(read().isEmpty)
    }

    /// Each `state` event carries an `id`, the last execution event it covers. A browser reconnecting sends it
    /// back as `Last-Event-ID` on the page's own URL, and the new stream carries only later events: the events of
    /// the stream before and the one after, together, are every event of the execution once, in order. A bad
    /// `Last-Event-ID` is a 400 naming the header.
    @Test func reconnectingStreamResumesAfterTheLastEventID() async throws {
        try await withTalkingExecution { base, id, go in
            let path = "/console/executions/\(id)/events?after=0"
            func events(_ state: String) -> [String] {
                (Self.field("events", of: state) as [[String: String]]? ?? []).map {
                    "\($0["subject"] ?? "") \($0["kind"] ?? "") \($0["message"] ?? "")"
                }
            }
            let before = try EventStream(base, path)
            var seenBefore: [String] = []
            while seenBefore.isEmpty { seenBefore += events(try await before.next("state")) }
            let lastID = try #require(before.lastID.flatMap { Int($0) }, "a state event without an id")

            let after = try EventStream(base, path, headers: ["Last-Event-ID: \(lastID)"])
            var seenAfter = events(try await after.next("state"))
            #expect(Int(after.lastID ?? "") ?? -1 >= lastID)
            FileManager.default.createFile(atPath: go, contents: nil)
            var finished = false
            while !finished {
                let state = try await after.next("state")
                seenAfter += events(state)
                finished = (Self.field("finished", of: state) as Bool?) == true
            }
            let whole = events(try await EventStream(base, path).next("state"))
            #expect(!seenAfter.isEmpty && seenBefore + seenAfter == whole, "\(seenBefore) + \(seenAfter) ≠ \(whole)")

            let refused = try await send(
                base, "/console/executions/\(id)/events", headers: ["Last-Event-ID": "soon"])
            let text = refused.body.replacingOccurrences(of: "&#39;", with: "'").replacingOccurrences(
                of: "&#x27;", with: "'")
            #expect(refused.status == 400)
            #expect(text.contains("Header 'Last-Event-ID' is 'soon'; it takes an event sequence number"), "\(text)")
        }
    }

    /// The endpoints page shows the aliases of deployed versions and the requests the server answered; its stream
    /// sends the new count, a rate and a latency as more requests arrive. The registry pages list the aliases.
    @Test func endpointsShowAliasesAndLiveTraffic() async throws {
        let scratch = try Scratch()
        try await withHostedServer(home: scratch.home, workingDirectory: scratch.folder) { base, server, _ in
            let store = server.context.store
            let version = try Self.deployLinearModel(server, group: "Churn", endpoint: "scores", folder: scratch.folder)
            try store.setAlias(group: "Churn", alias: "champion", version: version, by: "test", reason: "", now: 1)
            func invoke(_ count: Int) async throws {
                for _ in 0..<count {
                    let answer = try await send(
                        base, "/endpoints/scores/production/invocations", method: "POST", body: "3\n",
                        contentType: "text/csv")
                    #expect(answer.status == 200, "\(answer.body)")
                }
            }
            try await invoke(5)

            let browser = Browser(base: base)
            let page = try await browser.get("/console/endpoints")
            #expect(page.body.contains(#"Churn/1 <span class="alias">champion</span>"#), "\(page.body)")
            let requests = page.body.firstMatch(of: /data-traffic="scores\/AllTraffic">.*?data-field="requests">(\d+)</)
            #expect(requests?.output.1 == "5", "\(page.body)")
            #expect(try await browser.get("/console/registry").body.contains("champion → v1"))
            #expect(try await browser.get("/console/registry/Churn").body.contains(#"v1 <span class="alias">champion"#))

            let stream = try EventStream(base, "/console/endpoints/traffic")
            let opened = try Self.traffic(try await stream.next("traffic"), "scores/AllTraffic")
            #expect(opened["requests"] == "5" && opened["rate"] == "–", "\(opened)")
            try await invoke(3)
            var latest = opened
            while latest["requests"] != "8" {
                latest = try Self.traffic(try await stream.next("traffic"), "scores/AllTraffic")
            }
            #expect(latest["rate"]?.hasSuffix("/s") == true && latest["rate"] != "0.0/s", "\(latest)")
            #expect(latest["latency"]?.hasSuffix(" ms") == true && latest["errors"] == "0", "\(latest)")
        }
    }

    /// Runs `body` with a hosted server on a fresh store, the id of a submitted `talk.yaml` execution, and the file
    /// `go` that lets its step finish (created at the end in any case, so the step's process stops).
    func withTalkingExecution(_ body: @Sendable (URL, String, String) async throws -> Void) async throws {
        let scratch = try Scratch()
        let go = scratch.folder + "/go"
        try scratch.writeTalker(waitingFor: go)
        defer { FileManager.default.createFile(atPath: go, contents: nil) }
        try await withHostedServer(home: scratch.home, workingDirectory: scratch.folder) { base, _, _ in
            try await body(base, try await submit("talk.yaml", at: base), go)
        }
    }

    /// The `logs` of a `state` event.
    static func logs(_ state: String) -> [[String: Any]] { field("logs", of: state) ?? [] }

    /// Field `name` of an event's JSON data.
    static func field<Value>(_ name: String, of data: String) -> Value? {
        ((try? JSONSerialization.jsonObject(with: Data(data.utf8))) as? [String: Any])?[name] as? Value
    }

    /// The row `key` of a `traffic` event.
    static func traffic(_ data: String, _ key: String) throws -> [String: String] {
        let rows = try JSONSerialization.jsonObject(with: Data(data.utf8)) as? [[String: String]] ?? []
        return try #require(rows.first { $0["key"] == key }, "no row \(key) in \(data)")
    }

    /// Registers `y = 2x` (one feature `x`), approved, in `group` and deploys it alone (variant `AllTraffic`) to the
    /// production stage of `endpoint`; returns its version number.
    @discardableResult
    static func deployLinearModel(_ server: HostedServer, group: String, endpoint: String, folder: String) throws -> Int
    {
        let store = server.context.store
        let model = ModelArtifact(
            inputColumns: ["x"], features: ["x"], label: "y", transforms: [], algorithm: "linear",
            linear: LinearModel(coefficients: [2], intercept: 0),
            training: .init(rows: 1, trainedAt: "2026-11-21T00:00:00Z"))
        let path = folder + "/model-\(UUID().uuidString).json"
        try model.save(to: path)
        let hash = "sha256:" + SHA256.hex(Array(try Data(contentsOf: URL(fileURLWithPath: path))))
        let version = try store.registerModelVersion(
            NewModelVersion(
                group: group, artifactPath: path, artifactHash: hash, status: .approved,
                createdAt: 0),
            by: "test"
        ).version
        _ = try store.deploy(
            endpoint: endpoint, stage: "production",
            variant: DeployedVariant(name: "AllTraffic", group: group, version: version), replacing: true,
            allowUnapproved: false, capturePercentage: nil, by: "test", reason: "", now: 1)
        try server.runtime.refresh()
        return version
    }
}

extension Scratch {
    /// Writes `talk.yaml`: one command step that prints `first line`, waits until the file `go` exists, then prints
    /// `second line`.
    func writeTalker(waitingFor go: String) throws {
        try write(
            "talk.yaml",
            """
            name: Talk
            steps:
              - name: Speak
                module: Speaker
            """)
        try write(
            "speaker.yaml",
            """
            name: Speaker
            type: Command
            implementation:
              command: [sh, -c, 'echo first line; while [ ! -e "\(go)" ]; do sleep 0.05; done; echo second line']
            inputs: []
            outputs: []
            """)
    }
}
