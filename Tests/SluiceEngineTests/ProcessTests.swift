import Foundation
import SluiceCore
import SluiceStore
import SluiceTesting
import Testing

/// A scratch folder with a `.sluice/` home and helpers to run the binary in it.
struct Sandbox {
    let folder = NSTemporaryDirectory() + "sluice-cli-\(UUID().uuidString)"
    var home: String { "\(folder)/.sluice" }

    init() throws { try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true) }

    func write(_ name: String, _ text: String) throws {
        try Data(text.utf8).write(to: URL(fileURLWithPath: "\(folder)/\(name)"))
    }

    /// The text of a file, by absolute path or relative to the sandbox; empty when it does not exist.
    func read(_ path: String) -> String {
        let full = path.hasPrefix("/") ? path : "\(folder)/\(path)"
        return String(decoding: FileManager.default.contents(atPath: full) ?? Data(), as: UTF8.self)
    }

    /// A process of the binary in this sandbox; its output goes to the file `output` (created here, inside the
    /// sandbox), or is discarded through `FileHandle.nullDevice` when `output` is nil. Never create or replace
    /// `/dev/null` itself: as root that turns the device into a regular file for every program on the machine.
    func process(_ arguments: [String], output: String? = nil) -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: SluiceBinary.path)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: folder)
        var environment = ProcessInfo.processInfo.environment
        environment["SLUICE_HOME"] = home
        environment["MARKER"] = "\(folder)/marker.txt"
        process.environment = environment
        if let output {
            FileManager.default.createFile(atPath: output, contents: nil)
            process.standardOutput = FileHandle(forWritingAtPath: output)
            process.standardError = FileHandle(forWritingAtPath: output)
        } else {
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
        }
        return process
    }

    /// `sluice run pipeline.yaml`, then `sluice resume` until the execution succeeds, each of the first `kills`
    /// drivers killed with SIGKILL after a random delay in `delays` (microseconds) if it is still running then. With
    /// `afterShowing`, the delay starts once the driver has printed that text (e.g. `running`: a step started), or,
    /// with `file` too, once that file shows the text once more than before the driver started (e.g. the mark a
    /// step's own process writes first: the process runs), so kills land in steps however slow the machine is.
    /// - Returns: the execution's id, the kills made, and whether a driver finished it (within 200 runs).
    func runKillingTheDriver(
        kills wanted: Int, delays: ClosedRange<UInt32>, afterShowing text: String? = nil, in file: String? = nil
    ) throws -> (id: String?, kills: Int, finished: Bool) {
        var generator = SystemRandomNumberGenerator()
        var kills = 0
        var executionID: String?
        for round in 0..<200 {
            let log = text.map { _ in "\(folder)/driver-\(round).log" }
            let watched = text.flatMap { text in (file ?? log).map { (path: $0, text: text) } }
            let shown = { (watched: (path: String, text: String)) in
                read(watched.path).components(separatedBy: watched.text).count - 1
            }
            let before = watched.map(shown) ?? 0
            let driver = process(executionID.map { ["resume", $0] } ?? ["run", "pipeline.yaml"], output: log)
            try driver.run()
            if kills < wanted {
                if let watched {
                    while driver.isRunning, shown(watched) <= before { usleep(1000) }
                }
                usleep(UInt32.random(in: delays, using: &generator))
                if driver.isRunning {
                    kill(driver.processIdentifier, SIGKILL)
                    kills += 1
                }
            }
            driver.waitUntilExit()
            guard FileManager.default.fileExists(atPath: "\(home)/sluice.db") else { continue }
            let store = try SQLiteStore(path: "\(home)/sluice.db")
            if executionID == nil { executionID = try store.executions(limit: 1).first?.id }
            // A driver killed just after the execution succeeded finished it too.
            if let executionID, try store.execution(id: executionID)?.status == .succeeded {
                return (executionID, kills, true)
            }
        }
        return (executionID, kills, false)
    }

    /// Runs to the end; returns the exit status and everything printed.
    func run(_ arguments: [String]) throws -> (Int32, String) {
        let log = "\(folder)/out-\(UUID().uuidString).log"
        let process = process(arguments, output: log)
        try process.run()
        process.waitUntilExit()
        return (
            process.terminationStatus,
            String(decoding: FileManager.default.contents(atPath: log) ?? Data(), as: UTF8.self)
        )
    }
}

@Suite(.serialized) struct ProcessTests {
    /// SIGKILL `sluice run`/`resume` at random moments, 20+ times, resuming each time.
    ///
    /// The guarantee checked, precisely: a step whose success was committed never runs again; every side effect
    /// belongs to an attempt whose start was committed first; and a step's side effect appears more than once only
    /// when an earlier attempt was killed after the effect but before its success commit (that attempt is recorded
    /// as `interrupted`). Commands that must not repeat effects should be idempotent per `SLUICE_STEP`.
    @Test func survivesRepeatedKillNine() throws {
        let sandbox = try Sandbox()
        // Steps run one after another, each sleeping at least 30 ms, and a driver is killed at most 220 ms after it
        // starts: a driver's run finishes at most 8 steps (7, and the one its killed step's process ends on its own),
        // so 180 steps cannot all succeed before the 20th kill, however fast the machine.
        let count = 180
        try sandbox.write(
            "append.yaml",
            """
            name: Append
            type: Command
            implementation:
              command: [sh, -c, "echo \\"$SLUICE_STEP $SLUICE_ATTEMPT\\" >> \\"$MARKER\\"; sleep 0.03"]
            inputs: []
            outputs: []
            """)
        var steps = "name: CrashChain\nsteps:\n"
        for index in 0..<count {
            steps += "  - name: S\(index)\n    module: Append\n"
            if index > 0 { steps += "    after: [S\(index - 1)]\n" }
        }
        try sandbox.write("pipeline.yaml", steps)
        let (executionID, kills, finished) = try sandbox.runKillingTheDriver(kills: 20, delays: 40_000...220_000)
        #expect(finished)
        #expect(kills >= 20)
        let store = try SQLiteStore(path: "\(sandbox.home)/sluice.db")
        let id = try #require(executionID)
        #expect(try store.executions().count == 1)
        #expect(try store.execution(id: id)?.status == .succeeded)
        let lines = String(
            decoding: FileManager.default.contents(atPath: "\(sandbox.folder)/marker.txt") ?? Data(), as: UTF8.self
        )
        .split(separator: "\n").map { $0.split(separator: " ") }
        let attempts = Dictionary(grouping: try store.attempts(executionID: id), by: \.step)
        for record in try store.steps(executionID: id) {
            #expect(record.status == .succeeded)
            let effects = lines.filter { $0.first.map(String.init) == record.name }.compactMap { Int($0.last!) }
            // The succeeded attempt's effect appears exactly once; nothing ran after the success commit.
            #expect(effects.filter { $0 == record.attempt }.count == 1, "step \(record.name)")
            #expect(effects.allSatisfy { $0 <= record.attempt }, "step \(record.name) ran after its success")
            // Every effect belongs to a recorded attempt; earlier ones were interrupted by a kill.
            let recorded = attempts[record.name] ?? []
            for effect in effects {
                let attempt = recorded.first { $0.number == effect }
                #expect(attempt != nil, "step \(record.name) attempt \(effect) has no recorded start")
                if effect < record.attempt { #expect(attempt?.status == .interrupted) }
            }
            // Attempt folders only: no tree made ahead was left half-moved by a kill.
            let stepFolder = "\(sandbox.home)/executions/\(id)/\(record.name)"
            let names = (try? FileManager.default.contentsOfDirectory(atPath: stepFolder)) ?? []
            #expect(names.allSatisfy { Int($0) != nil }, "step folder \(stepFolder) holds \(names)")
        }
        // The killed runs' spare trees were removed by the next run, the last run's own when it exited.
        #expect((try? FileManager.default.contentsOfDirectory(atPath: "\(sandbox.home)/executions/.spare")) == [])
    }

    /// 50 `sluice run` processes at once on one `.sluice/`: all complete, none sees "database is locked".
    @Test func fiftyConcurrentRunsAllComplete() throws {
        let sandbox = try Sandbox()
        try sandbox.write(
            "noop.yaml", "name: Noop\ntype: Builtin\nimplementation:\n  builtin: noop\ninputs: []\noutputs: []\n")
        try sandbox.write(
            "pipeline.yaml",
            """
            name: Small
            steps:
              - name: A
                module: Noop
              - name: B
                module: Noop
                after: [A]
              - name: C
                module: Noop
                after: [A]
              - name: D
                module: Noop
                after: [B, C]
            """)
        var processes: [(Process, String)] = []
        for index in 0..<50 {
            let log = "\(sandbox.folder)/run-\(index).log"
            let process = sandbox.process(["run", "pipeline.yaml"], output: log)
            try process.run()
            processes.append((process, log))
        }
        for (process, log) in processes {
            process.waitUntilExit()
            let output = String(decoding: FileManager.default.contents(atPath: log) ?? Data(), as: UTF8.self)
            #expect(process.terminationStatus == 0, "\(output)")
            #expect(!output.contains("locked"))
        }
        let store = try SQLiteStore(path: "\(sandbox.home)/sluice.db")
        let executions = try store.executions(limit: 100)
        #expect(executions.count == 50)
        #expect(executions.allSatisfy { $0.status == .succeeded })
    }

    @Test func badInputIsOneLineAndWritesNothing() throws {
        let sandbox = try Sandbox()
        try sandbox.write(
            "noop.yaml", "name: Noop\ntype: Builtin\nimplementation:\n  builtin: noop\ninputs: []\noutputs: []\n")
        try sandbox.write(
            "script.yaml",
            "name: Script\ntype: Command\nimplementation:\n  command: [python3, missing.py]\ninputs: []\noutputs: []\n")
        try sandbox.write(
            "pipeline.yaml",
            "name: P\nparameters:\n  - name: N\n    type: Integer\n    default: 1\nsteps:\n  - name: A\n    module: Noop\n"
        )
        try sandbox.write("scripted.yaml", "name: Q\nsteps:\n  - name: A\n    module: Script\n")
        let cases: [[String]] = [
            ["show", "no-such-execution"], ["resume", "no-such-execution"],
            ["run", "pipeline.yaml", "-p", "N=abc"], ["run", "scripted.yaml"], ["run", "missing.yaml"],
        ]
        for arguments in cases {
            let (status, output) = try sandbox.run(arguments)
            #expect(status != 0, "\(arguments)")
            #expect(output.contains("error"), "\(arguments): \(output)")
        }
        let store = try SQLiteStore(path: "\(sandbox.home)/sluice.db")
        #expect(try store.executions().isEmpty)
    }

    @Test func approvalRejectionFailsTheRunAndTokensAreSingleUse() throws {
        let sandbox = try Sandbox()
        try sandbox.write(
            "noop.yaml", "name: Noop\ntype: Builtin\nimplementation:\n  builtin: noop\ninputs: []\noutputs: []\n")
        try sandbox.write(
            "pipeline.yaml",
            """
            name: Gate
            steps:
              - name: Build
                module: Noop
              - name: Gate
                type: Approval
                message: ship it?
                after: [Build]
              - name: Ship
                module: Noop
                after: [Gate]
            """)
        let log = "\(sandbox.folder)/approval.log"
        let run = sandbox.process(["run", "pipeline.yaml"], output: log)
        try run.run()
        var token: String?
        for _ in 0..<200 where token == nil {
            usleep(50_000)
            let text = String(decoding: FileManager.default.contents(atPath: log) ?? Data(), as: UTF8.self)
            token = text.split(separator: "\n").first { $0.contains("sluice approve ") }
                .map { String($0.split(separator: " ").last!) }
        }
        let approval = try #require(token)
        let (rejected, _) = try sandbox.run(["reject", approval, "--reason", "not yet"])
        #expect(rejected == 0)
        run.waitUntilExit()
        #expect(run.terminationStatus != 0)
        let (reused, _) = try sandbox.run(["approve", approval])
        #expect(reused != 0)
        let output = String(decoding: FileManager.default.contents(atPath: log) ?? Data(), as: UTF8.self)
        // A retry would only ask again and meet the same decision: no retry hint after a rejection.
        #expect(output.contains("not yet") && !output.contains("sluice retry "), "\(output)")
    }

    /// Caching keys on input content: an identical copy of the data hits, changed data misses; `--explain-cache`
    /// names what changed: the input's content, the module's code file, the module definition.
    @Test func cacheHitsOnIdenticalCopiesAndMissesOnChangedData() throws {
        let sandbox = try Sandbox()
        try sandbox.write("count.sh", "wc -l < \"$SM_CHANNEL_DATA\" > \"$SM_OUTPUT_DATA_DIR/count\"\n")
        try sandbox.write(
            "count.yaml",
            """
            name: Count
            type: Command
            implementation:
              command: [sh, count.sh]
            inputs:
              - name: Data
                type: DataUri
            outputs:
              - name: Counted
                type: DataUri
            """)
        try sandbox.write(
            "pipeline.yaml",
            """
            name: Cached
            parameters:
              - name: Input
                type: DataUri
                default: a.csv
            steps:
              - name: Count
                module: Count
                inputs:
                  Data: $.parameters.Input
                cache: {enabled: true}
            """)
        try sandbox.write("a.csv", "x\n1\n2\n")
        try sandbox.write("b.csv", "x\n1\n2\n")
        try sandbox.write("c.csv", "x\n1\n3\n")
        let (first, firstOutput) = try sandbox.run(["run", "pipeline.yaml", "-p", "Input=\(sandbox.folder)/a.csv"])
        #expect(first == 0, "\(firstOutput)")
        #expect(!firstOutput.contains("cache hit"))
        let (second, secondOutput) = try sandbox.run(
            ["run", "pipeline.yaml", "--explain-cache", "-p", "Input=\(sandbox.folder)/b.csv"])
        #expect(second == 0)
        #expect(secondOutput.contains("(cache hit)"), "\(secondOutput)")
        let (third, thirdOutput) = try sandbox.run(
            ["run", "pipeline.yaml", "--explain-cache", "-p", "Input=\(sandbox.folder)/c.csv"])
        #expect(third == 0)
        #expect(thirdOutput.contains("miss"), "\(thirdOutput)")
        // The miss names the part of the key that changed: the content of the data behind parameter Input.
        #expect(thirdOutput.contains("input 'Data' (parameter Input) changed: content sha256:"), "\(thirdOutput)")
        #expect(!thirdOutput.contains("module definition changed"), "\(thirdOutput)")
        #expect(!thirdOutput.contains("(cache hit)"))
        // Editing the script the command runs is named as its code file changing, not as the module changing.
        try sandbox.write("count.sh", "wc -l -c < \"$SM_CHANNEL_DATA\" > \"$SM_OUTPUT_DATA_DIR/count\"\n")
        let (fourth, fourthOutput) = try sandbox.run(
            ["run", "pipeline.yaml", "--explain-cache", "-p", "Input=\(sandbox.folder)/c.csv"])
        #expect(fourth == 0, "\(fourthOutput)")
        #expect(fourthOutput.contains("miss: code file count.sh changed"), "\(fourthOutput)")
        #expect(!fourthOutput.contains("module definition changed"), "\(fourthOutput)")
        // Editing the module (its command) is named as such.
        let edited = try String(contentsOfFile: "\(sandbox.folder)/count.yaml", encoding: .utf8)
            .replacingOccurrences(of: "[sh, count.sh]", with: "[sh, -e, count.sh]")
        try sandbox.write("count.yaml", edited)
        let (fifth, fifthOutput) = try sandbox.run(
            ["run", "pipeline.yaml", "--explain-cache", "-p", "Input=\(sandbox.folder)/c.csv"])
        #expect(fifth == 0, "\(fifthOutput)")
        #expect(fifthOutput.contains("miss: the module definition changed"), "\(fifthOutput)")
        #expect(!fifthOutput.contains("input 'Data'") && !fifthOutput.contains("code file"), "\(fifthOutput)")
    }

    /// `run --detach` returns with the id and the commands to follow it; a background process owns and finishes it.
    @Test func detachedRunFinishesInTheBackground() throws {
        let sandbox = try Sandbox()
        try sandbox.write(
            "append.yaml",
            """
            name: Append
            type: Command
            implementation:
              command: [sh, -c, "echo \\"$SLUICE_STEP\\" >> \\"$MARKER\\"; sleep 0.1"]
            inputs: []
            outputs: []
            """)
        try sandbox.write(
            "pipeline.yaml",
            """
            name: Background
            steps:
              - name: A
                module: Append
              - name: B
                module: Append
                after: [A]
              - name: C
                module: Append
                after: [B]
            """)
        let log = "\(sandbox.folder)/detach.log"
        let starter = sandbox.process(["run", "--detach", "pipeline.yaml"], output: log)
        try starter.run()
        starter.waitUntilExit()
        let output = String(decoding: FileManager.default.contents(atPath: log) ?? Data(), as: UTF8.self)
        #expect(starter.terminationStatus == 0, "\(output)")
        let id = try #require(output.split(separator: " ").dropFirst().first.map(String.init))
        #expect(output.contains("sluice logs \(id) --follow"), "\(output)")
        #expect(output.contains("sluice show \(id)"), "\(output)")
        // `logs --follow` returns once the background process has finished the execution.
        let (followed, events) = try sandbox.run(["logs", id, "--follow"])
        #expect(followed == 0)
        #expect(events.contains("claimed"), "\(events)")
        let store = try SQLiteStore(path: "\(sandbox.home)/sluice.db")
        #expect(try store.execution(id: id)?.status == .succeeded)
        let marker = String(
            decoding: FileManager.default.contents(atPath: "\(sandbox.folder)/marker.txt") ?? Data(), as: UTF8.self)
        #expect(marker == "A\nB\nC\n")
        // The lease was claimed by another process than the one `run --detach` ran in.
        let claim = try #require(try store.events(executionID: id).first { $0.kind == "claimed" })
        #expect(claim.message != "pid \(starter.processIdentifier)")
    }

    /// A step that stops writing output for longer than its `heartbeat` fails with `States.HeartbeatTimeout`
    /// (caught here) and its process is killed; steps that print or touch `$SLUICE_HEARTBEAT_FILE` keep going.
    @Test func silentStepFailsItsHeartbeat() throws {
        let sandbox = try Sandbox()
        let modules = [
            ("Quiet", "echo started; sleep 30"),
            ("Chatty", "for i in 1 2 3 4 5 6; do echo $i; sleep 0.25; done"),
            ("Toucher", "for i in 1 2 3 4 5 6; do touch \\\"$SLUICE_HEARTBEAT_FILE\\\"; sleep 0.25; done"),
            ("Record", "echo \\\"$SLUICE_STEP\\\" >> \\\"$MARKER\\\""),
        ]
        for (name, script) in modules {
            try sandbox.write(
                "\(name.lowercased()).yaml",
                "name: \(name)\ntype: Command\nimplementation:\n  command: [sh, -c, \"\(script)\"]\ninputs: []\noutputs: []\n"
            )
        }
        try sandbox.write(
            "pipeline.yaml",
            """
            name: Heartbeats
            steps:
              - name: Quiet
                module: Quiet
                heartbeat: PT1S
                catch:
                  - errors: [States.HeartbeatTimeout]
                    next: Cleanup
              - name: Cleanup
                module: Record
              - name: Chatty
                module: Chatty
                heartbeat: PT1S
              - name: Toucher
                module: Toucher
                heartbeat: PT1S
            """)
        let (status, output) = try sandbox.run(["run", "pipeline.yaml"])
        #expect(status == 0, "\(output)")
        let store = try SQLiteStore(path: "\(sandbox.home)/sluice.db")
        let id = try #require(try store.executions(limit: 1).first?.id)
        let steps = Dictionary(uniqueKeysWithValues: try store.steps(executionID: id).map { ($0.name, $0) })
        #expect(steps["Quiet"]?.error?.error == "States.HeartbeatTimeout")
        #expect(steps["Quiet"]?.status == .caught)
        #expect(steps["Cleanup"]?.status == .succeeded)
        #expect(steps["Chatty"]?.status == .succeeded)
        #expect(steps["Toucher"]?.status == .succeeded)
    }

    /// A Map whose iteration 3 fails: `sluice retry` re-runs only the iterations that did not finish.
    @Test func redrivenMapSkipsFinishedIterations() throws {
        let sandbox = try Sandbox()
        try sandbox.write(
            "pipeline.yaml",
            """
            name: Fan
            steps:
              - name: Each
                type: Map
                items: [0, 1, 2, 3, 4, 5]
                max_concurrency: 1
                module: Item
                inputs: {item: $.item}
            """)
        // The command reads its item from SM_HPS ({"item":N}).
        try sandbox.write(
            "item.yaml",
            """
            name: Item
            type: Command
            implementation:
              command: [sh, -c, "ITEM=$(echo \\"$SM_HPS\\" | tr -dc 0-9); echo $ITEM >> \\"$MARKER\\"; if [ $ITEM = 3 ] && [ ! -e \\"$MARKER.ok\\" ]; then touch \\"$MARKER.ok\\"; exit 1; fi"]
            inputs:
              - name: item
                type: Integer
            outputs: []
            """)
        let (first, firstOutput) = try sandbox.run(["run", "pipeline.yaml"])
        #expect(first != 0, "\(firstOutput)")
        let store = try SQLiteStore(path: "\(sandbox.home)/sluice.db")
        let id = try #require(try store.executions(limit: 1).first?.id)
        let (second, secondOutput) = try sandbox.run(["retry", id])
        #expect(second == 0, "\(secondOutput)")
        let marker = String(
            decoding: FileManager.default.contents(atPath: "\(sandbox.folder)/marker.txt") ?? Data(), as: UTF8.self)
        // 0, 1, 2 ran once; 3 failed, then ran again with 4 and 5 on the redrive.
        #expect(marker == "0\n1\n2\n3\n3\n4\n5\n", "\(marker)")
        // `retry --from` a succeeded Map starts it afresh; piped, its progress is plain lines (every tenth: each item).
        let (third, thirdOutput) = try sandbox.run(["retry", id, "--from", "Each"])
        #expect(third == 0, "\(thirdOutput)")
        #expect(sandbox.read("marker.txt") == marker + "0\n1\n2\n3\n4\n5\n")
        #expect(thirdOutput.contains("  ▸ Each  1/6 items\n") && thirdOutput.contains("  ▸ Each  6/6 items\n"))
    }

    /// `sluice cancel` stops a run driven by another process: the running step's process is killed and the
    /// execution ends cancelled.
    @Test func cancelStopsARunDrivenInTheBackground() throws {
        let sandbox = try Sandbox()
        // The step writes its process id where the test finds it, then sleeps far longer than the test runs.
        try sandbox.write(
            "sleeper.yaml",
            "name: Sleeper\nimplementation: {command: [sh, -c, 'echo $$ > \"$MARKER\"; exec sleep 600']}\n")
        try sandbox.write("pipeline.yaml", "name: Long\nsteps:\n  - name: Sleep\n    module: Sleeper\n")
        let (started, output) = try sandbox.run(["run", "--detach", "pipeline.yaml"])
        #expect(started == 0, "\(output)")
        let id = try #require(output.firstMatch(of: /execution (\S+)  Long/).map { String($0.output.1) }, "\(output)")
        let driver = try #require(output.firstMatch(of: /process (\d+)/).flatMap { Int32($0.output.1) }, "\(output)")
        defer { if driver > 1 { kill(driver, SIGKILL) } }
        let marker = { Int32(sandbox.read("marker.txt").trimmingCharacters(in: .whitespacesAndNewlines)) }
        for _ in 0..<3000 where marker() == nil { usleep(20_000) }
        let pid = try #require(marker(), "the step never started")
        let group = getpgid(pid)
        #expect(group > 0 && !AdoptionTests.liveMembers(of: group).isEmpty)
        defer { if group > 1 { kill(-group, SIGKILL) } }
        let (cancelled, cancelOutput) = try sandbox.run(["cancel", id])
        #expect(cancelled == 0, "\(cancelOutput)")
        // `logs --follow` returns once the execution has ended.
        let (followed, events) = try sandbox.run(["logs", id, "--follow"])
        #expect(followed == 0, "\(events)")
        let store = try SQLiteStore(path: "\(sandbox.home)/sluice.db")
        #expect(try store.execution(id: id)?.status == .cancelled)
        #expect(AdoptionTests.liveMembers(of: group).isEmpty, "the step's process group \(group) outlived the cancel")
    }

    /// `sluice cancel` removes a queued execution: the `sluice run` waiting for its slot says so and ends.
    @Test func cancelRemovesAQueuedExecution() throws {
        let sandbox = try Sandbox()
        try sandbox.write(
            "gate.yaml",
            "name: Gate\nmax_concurrent_executions: 1\nsteps:\n  - {name: Hold, type: Approval, message: go?}\n")
        let first = sandbox.process(["run", "gate.yaml"], output: "\(sandbox.folder)/first.log")
        try first.run()
        defer {
            kill(first.processIdentifier, SIGKILL)
            first.waitUntilExit()
        }
        for _ in 0..<1500 where !sandbox.read("first.log").contains("waiting for approval") { usleep(20_000) }
        let second = sandbox.process(["run", "gate.yaml"], output: "\(sandbox.folder)/second.log")
        try second.run()
        defer {
            if second.isRunning { kill(second.processIdentifier, SIGKILL) }
            second.waitUntilExit()
        }
        for _ in 0..<1500 where !sandbox.read("second.log").contains("queued: 1 execution(s)") { usleep(20_000) }
        let waiting = sandbox.read("second.log")
        let id = try #require(waiting.firstMatch(of: /execution (\S+)  Gate/)?.output.1, "\(waiting)")
        let (cancelled, output) = try sandbox.run(["cancel", String(id)])
        #expect(cancelled == 0 && output.contains("cancelled \(id)"), "\(output)")
        for _ in 0..<1500 where second.isRunning { usleep(20_000) }
        #expect(!second.isRunning && second.terminationStatus != 0)
        #expect(sandbox.read("second.log").contains("already cancelled"), "\(sandbox.read("second.log"))")
        let store = try SQLiteStore(path: "\(sandbox.home)/sluice.db")
        #expect(try store.execution(id: String(id))?.status == .cancelled)
        // Cancelling it again is refused, and its log gains nothing.
        let events = try store.events(executionID: String(id), after: 0).count
        let (again, refusal) = try sandbox.run(["cancel", String(id)])
        #expect(again != 0 && refusal.contains("already cancelled"), "\(refusal)")
        #expect(try store.events(executionID: String(id), after: 0).count == events)
    }

    /// A container module needs docker or podman: with neither on the `PATH`, the run is refused before it starts,
    /// saying so, and nothing is recorded.
    @Test func containerModuleWithoutAnEngineIsRefusedBeforeTheRun() throws {
        let sandbox = try Sandbox()
        try sandbox.write(
            "boxed.yaml", "name: Boxed\nimplementation:\n  container: alpine:3\ninputs: []\noutputs: []\n")
        try sandbox.write("pipeline.yaml", "name: Box\nsteps:\n  - {name: Run, module: Boxed}\n")
        let noEngines = sandbox.folder + "/no-engines"
        try FileManager.default.createDirectory(atPath: noEngines, withIntermediateDirectories: true)
        let run = sandbox.process(["run", "pipeline.yaml"], output: sandbox.folder + "/run.log")
        run.environment?["PATH"] = noEngines
        try run.run()
        run.waitUntilExit()
        let output = sandbox.read("run.log")
        #expect(run.terminationStatus == 1, "\(output)")
        #expect(output.contains("step 'Run' (module 'Boxed'): neither docker nor podman is installed"), "\(output)")
        let store = try SQLiteStore(path: "\(sandbox.home)/sluice.db")
        #expect(try store.executions(limit: 1).isEmpty)
    }

    /// `kill -9` in the middle of a Map, then `resume`: iterations committed before the kill do not run again.
    @Test func resumedMapSkipsCommittedIterations() throws {
        let sandbox = try Sandbox()
        try sandbox.write(
            "item.yaml",
            """
            name: Item
            type: Command
            implementation:
              command: [sh, -c, "echo $(echo \\"$SM_HPS\\" | tr -dc 0-9) >> \\"$MARKER\\"; sleep 0.15"]
            inputs:
              - name: item
                type: Integer
            outputs: []
            """)
        try sandbox.write(
            "pipeline.yaml",
            """
            name: LongFan
            steps:
              - name: Each
                type: Map
                items: [0, 1, 2, 3, 4, 5, 6, 7]
                max_concurrency: 1
                module: Item
                inputs: {item: $.item}
            """)
        let markerPath = "\(sandbox.folder)/marker.txt"
        func lines() -> [String] {
            String(decoding: FileManager.default.contents(atPath: markerPath) ?? Data(), as: UTF8.self)
                .split(separator: "\n").map(String.init)
        }
        let run = sandbox.process(["run", "pipeline.yaml"])
        try run.run()
        for _ in 0..<400 where lines().count < 3 { usleep(10_000) }
        kill(run.processIdentifier, SIGKILL)
        run.waitUntilExit()
        let store = try SQLiteStore(path: "\(sandbox.home)/sluice.db")
        let id = try #require(try store.executions(limit: 1).first?.id)
        let committed = try store.mapItems(executionID: id, step: "Each")
        #expect(!committed.isEmpty)
        let (resumed, output) = try sandbox.run(["resume", id])
        #expect(resumed == 0, "\(output)")
        #expect(try store.execution(id: id)?.status == .succeeded)
        let ran = lines()
        #expect(Set(ran) == Set((0..<8).map(String.init)))
        for index in committed.keys {
            #expect(ran.filter { $0 == String(index) }.count == 1, "iteration \(index) ran again after its commit")
        }
    }
}
