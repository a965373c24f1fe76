import Foundation
import SluiceCore
import SluiceStore
import Testing

/// What the CLI tells its user, through the real binary: times, durations, who decided, logs as they are written.
@Suite(.serialized) struct MessageTests {
    static let examples = RegistryProcessTests.examples
    static var iso8601: Regex<(Substring, Substring?)> { #/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/# }

    /// The registry's audit log and the JSON of `models`, `executions` and `show` give ISO 8601 times, not epoch
    /// floats.
    @Test func timesAreISO8601() throws {
        let sandbox = try Sandbox()
        let (status, output) = try sandbox.run(["run", Self.examples + "/w1-diabetes/pipeline.yaml"])
        #expect(status == 0, "\(output)")
        let (_, shown) = try sandbox.run(["models", "show", "DiabetesModelGroup/1"])
        let audit = try #require(shown.split(separator: "\n").last { $0.contains("registered") }, "\(shown)")
        let time = try #require(audit.split(separator: " ").first)
        #expect(time.wholeMatch(of: Self.iso8601) != nil, "\(audit)")

        let (_, listed) = try sandbox.run(["models", "list", "DiabetesModelGroup", "--format", "json"])
        let version = try JSONDecoder().decode(JSONValue.self, from: Data(listed.utf8)).array?.first
        #expect(version?["createdAt"]?.string?.wholeMatch(of: Self.iso8601) != nil, "\(listed)")

        let (_, executions) = try sandbox.run(["executions", "--format", "json"])
        let execution = try #require(try JSONDecoder().decode(JSONValue.self, from: Data(executions.utf8)).array?.first)
        for field in ["createdAt", "startedAt", "finishedAt"] {
            #expect(execution[field]?.string?.wholeMatch(of: Self.iso8601) != nil, "\(field): \(executions)")
        }
        let id = try #require(execution["id"]?.string)
        let (_, detail) = try sandbox.run(["show", id, "--format", "json"])
        let steps = try JSONDecoder().decode(JSONValue.self, from: Data(detail.utf8))["steps"]?.array ?? []
        let attempt = try #require(steps.first?["attempts"]?.array?.first, "\(detail)")
        #expect(attempt["startedAt"]?.string?.wholeMatch(of: Self.iso8601) != nil, "\(detail)")
    }

    /// `--by` defaults to the login name of the user running the command when `$USER` and `$LOGNAME` are unset.
    @Test func deciderFallsBackToTheLoginName() throws {
        let sandbox = try Sandbox()
        let (status, output) = try sandbox.run([
            "run", Self.examples + "/w1-diabetes/pipeline.yaml", "-p", "ModelApprovalStatus=PendingManualApproval",
        ])
        #expect(status == 0, "\(output)")
        let approve = sandbox.process(["models", "approve", "DiabetesModelGroup/1", "--reason", "fine"])
        approve.environment?["USER"] = nil
        approve.environment?["LOGNAME"] = nil
        try approve.run()
        approve.waitUntilExit()
        #expect(approve.terminationStatus == 0)
        let login = try #require(getpwuid(getuid())?.pointee.pw_name.map { String(cString: $0) })
        let store = try SQLiteStore(path: sandbox.home + "/sluice.db")
        let approval = try #require(try store.modelEvents(group: "DiabetesModelGroup").last)
        #expect(approval.kind == "approved" && approval.by == login, "\(approval)")
    }

    /// After a retry, a step's line shows its last attempt's duration, and the time since its first attempt apart;
    /// the stored attempt 2 starts after attempt 1 finished.
    @Test func durationIsTheLastAttempts() throws {
        let sandbox = try Sandbox()
        try sandbox.write(
            "second-time.yaml",
            """
            name: SecondTime
            implementation:
              command: [sh, -c, 'test "$SLUICE_ATTEMPT" -ge 2']
            """)
        try sandbox.write(
            "retried.yaml",
            """
            name: Retried
            steps:
              - name: Flaky
                module: SecondTime
                retry: [{error_equals: [States.ALL], interval: PT1S, max_attempts: 1}]
            """)
        let (status, output) = try sandbox.run(["run", "retried.yaml"])
        #expect(status == 0, "\(output)")
        let line = try #require(output.split(separator: "\n").first { $0.contains("✓ Flaky") }, "\(output)")
        let match = try #require(line.firstMatch(of: #/attempt 2  (\S+)  \((\S+) since attempt 1 started\)/#))
        func seconds(_ text: Substring) -> Double {
            text.hasSuffix("ms") ? (Double(text.dropLast(2)) ?? .nan) / 1000 : Double(text.dropLast()) ?? .nan
        }
        #expect(seconds(match.output.2) >= 1, "the total includes the 1 s backoff: \(line)")
        #expect(seconds(match.output.1) < seconds(match.output.2), "\(line)")

        let store = try SQLiteStore(path: sandbox.home + "/sluice.db")
        let execution = try #require(try store.executions(limit: 1).first)
        let attempts = try store.attempts(executionID: execution.id).filter { $0.step == "Flaky" }
        let first = try #require(attempts.first { $0.number == 1 && $0.finishedAt != nil })
        let second = try #require(attempts.last { $0.number == 2 })
        #expect(second.startedAt >= first.finishedAt! + 1, "\(attempts)")
    }

    /// `logs --follow`, piped into a file, shows a running step's output before the step ends.
    @Test func logsFollowStreamsStepOutputWhilePiped() throws {
        let sandbox = try Sandbox()
        try sandbox.write(
            "talker.yaml",
            """
            name: Talker
            implementation:
              command: [sh, -c, 'echo first line; while [ ! -f "$MARKER" ]; do sleep 0.05; done; echo second line']
            """)
        try sandbox.write("talk.yaml", "name: Talk\nsteps:\n  - {name: Speak, module: Talker}\n")
        let (started, detached) = try sandbox.run(["run", "talk.yaml", "--detach"])
        #expect(started == 0, "\(detached)")
        let id = try #require(detached.firstMatch(of: #/execution (\S+) /#)?.output.1).description
        let log = sandbox.folder + "/follow.log"
        let follow = sandbox.process(["logs", id, "--follow"], output: log)
        try follow.run()
        var text = ""
        for _ in 0..<600 where !text.contains("first line") {
            usleep(50_000)
            text = String(decoding: FileManager.default.contents(atPath: log) ?? Data(), as: UTF8.self)
        }
        // The step is still waiting for the marker, so this output was streamed, not printed at the end.
        #expect(text.contains("── Speak attempt 1 stdout.log\nfirst line\n"), "\(text)")
        #expect(!text.contains("second line") && follow.isRunning)
        FileManager.default.createFile(atPath: sandbox.folder + "/marker.txt", contents: Data())
        follow.waitUntilExit()
        text = String(decoding: FileManager.default.contents(atPath: log) ?? Data(), as: UTF8.self)
        #expect(follow.terminationStatus == 0 && text.contains("second line\n"), "\(text)")
        // `logs ID STEP` shows only that step's events and output.
        let (shown, stepLog) = try sandbox.run(["logs", id, "Speak"])
        #expect(
            shown == 0 && stepLog.contains("── Speak attempt 1 stdout.log\nfirst line\nsecond line\n"), "\(stepLog)")
        #expect(!(try sandbox.run(["logs", id, "Other"]).1.contains("first line")))
    }

    /// `--weight 0.1 --add` gives the new variant 10 % of the traffic; `remove-variant` takes it out again and the
    /// remaining variant serves everything; removing the last live variant is refused with a reason.
    @Test func weightsMeanWhatTheySayAndVariantsCanBeRemoved() throws {
        let sandbox = try Sandbox()
        let (status, output) = try sandbox.run(["run", Self.examples + "/w1-diabetes/pipeline.yaml"])
        #expect(status == 0, "\(output)")
        let deploy = ["endpoints", "deploy", "diabetes", "DiabetesModelGroup/1", "--stage", "production"]
        #expect(try sandbox.run(deploy).0 == 0)
        let (added, addition) = try sandbox.run(deploy + ["--variant", "B", "--weight", "0.1", "--add"])
        #expect(added == 0, "\(addition)")
        func weights() throws -> [String: Double] {
            let (_, listed) = try sandbox.run(["endpoints", "list", "--format", "json"])
            let endpoints = try JSONDecoder().decode(JSONValue.self, from: Data(listed.utf8))
            let variants = endpoints.array?.first?["stages"]?.array?.first?["variants"]?.array ?? []
            return Dictionary(
                uniqueKeysWithValues: variants.map { ($0["name"]?.string ?? "?", $0["weight"]?.number ?? .nan) })
        }
        let split = try weights()
        #expect(abs((split["B"] ?? 0) - 0.1) < 1e-12 && abs((split["AllTraffic"] ?? 0) - 0.9) < 1e-12, "\(split)")

        let (removed, removal) = try sandbox.run(["endpoints", "remove-variant", "diabetes", "B"])
        #expect(removed == 0, "\(removal)")
        #expect(try weights() == ["AllTraffic": 1], "\(removal)")
        let (last, refusal) = try sandbox.run(["endpoints", "remove-variant", "diabetes", "AllTraffic"])
        #expect(last != 0 && refusal.contains("'AllTraffic' is the only live variant of diabetes (production)"))
        let (unknown, named) = try sandbox.run(["endpoints", "remove-variant", "diabetes", "C"])
        #expect(unknown != 0 && named.contains("has no variant 'C'; its variants are: AllTraffic"), "\(named)")
    }
}
