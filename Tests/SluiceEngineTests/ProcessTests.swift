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

    func process(_ arguments: [String], output: String = "/dev/null") -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: SluiceBinary.path)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: folder)
        var environment = ProcessInfo.processInfo.environment
        environment["SLUICE_HOME"] = home
        environment["MARKER"] = "\(folder)/marker.txt"
        process.environment = environment
        FileManager.default.createFile(atPath: output, contents: nil)
        process.standardOutput = FileHandle(forWritingAtPath: output)
        process.standardError = FileHandle(forWritingAtPath: output)
        return process
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
        let count = 60
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
        var generator = SystemRandomNumberGenerator()
        var kills = 0
        var executionID: String?
        var finished = false
        while !finished {
            let arguments = executionID.map { ["resume", $0] } ?? ["run", "pipeline.yaml"]
            let process = sandbox.process(arguments)
            try process.run()
            if kills < 20 {
                usleep(UInt32.random(in: 40_000...220_000, using: &generator))
                if process.isRunning {
                    kill(process.processIdentifier, SIGKILL)
                    kills += 1
                }
            }
            process.waitUntilExit()
            if process.terminationReason == .exit, process.terminationStatus == 0 { finished = true }
            if executionID == nil, FileManager.default.fileExists(atPath: "\(sandbox.home)/sluice.db") {
                executionID = try SQLiteStore(path: "\(sandbox.home)/sluice.db").executions(limit: 1).first?.id
            }
            #expect(
                kills < 20 || finished || process.terminationReason == .uncaughtSignal || process.terminationStatus == 0
            )
        }
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
        }
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
        #expect(output.contains("sluice retry "))
    }

    /// Caching keys on input content: an identical copy of the data hits, changed data misses.
    @Test func cacheHitsOnIdenticalCopiesAndMissesOnChangedData() throws {
        let sandbox = try Sandbox()
        try sandbox.write(
            "count.yaml",
            """
            name: Count
            type: Command
            implementation:
              command: [sh, -c, "wc -l < \\"$SM_CHANNEL_DATA\\" > \\"$SM_OUTPUT_DATA_DIR/count\\""]
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
        #expect(!thirdOutput.contains("(cache hit)"))
    }
}
