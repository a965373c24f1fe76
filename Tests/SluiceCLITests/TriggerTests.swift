import Foundation
import SluiceCore
import SluiceStore
import Testing

/// Triggers fired by `sluice serve` processes: files dropped by another process while the server is killed and
/// restarted, a schedule's catch-up after downtime, a model version approved.
@Suite(.serialized) struct TriggerTests {
    /// A module that writes `<out>/<file name>.out` with the file's row count and last line (write, then rename).
    static let countRowsModule = #"""
        name: CountRows
        implementation:
          command:
            - python3
            - -c
            - |
              import json, os
              h = json.loads(os.environ["SM_HPS"])
              lines = open(h["path"]).read().splitlines()
              name = os.path.join(h["out"], os.path.basename(h["path"]) + ".out")
              open(name + ".part", "w").write("%d %s\n" % (len(lines) - 1, lines[-1]))
              os.replace(name + ".part", name)
        inputs: [{name: path, type: String}, {name: out, type: String}]
        outputs: []
        """#

    static let echoModule = """
        name: Echo
        implementation: {builtin: echo}
        inputs: [{name: value, type: String}]
        outputs: [{name: value, type: String}]
        """

    /// Writes 100 CSV files (header `x`, 5–44 rows): most at once, every fourth in pieces with pauses, every
    /// seventh as `.tmp` renamed when complete.
    static let writer = #"""
        import os, sys, time
        folder = sys.argv[1]
        for i in range(100):
            rows = ["x"] + [str(i * 1000 + r) for r in range(5 + i % 40)]
            text = "\n".join(rows) + "\n"
            path = os.path.join(folder, "f%03d.csv" % i)
            if i % 7 == 0:
                with open(path + ".tmp", "w") as f:
                    f.write(text)
                time.sleep(0.01)
                os.rename(path + ".tmp", path)
            elif i % 4 == 0:
                with open(path, "w") as f:
                    for start in range(0, len(text), 16):
                        f.write(text[start:start + 16])
                        f.flush()
                        time.sleep(0.002)
            else:
                with open(path, "w") as f:
                    f.write(text)
            time.sleep(0.02)
        """#

    /// Writes the folders `incoming`, `out` and `modules` (with CountRows) and a pipeline whose files trigger on
    /// `incoming/*.csv` passes each file to CountRows, which writes `out/<name>.out`.
    static func writeCountingPipeline(named name: String, maxConcurrent: Int, to file: String, in folder: String) throws
    {
        for name in ["incoming", "out", "modules"] {
            try FileManager.default.createDirectory(atPath: "\(folder)/\(name)", withIntermediateDirectories: true)
        }
        try countRowsModule.write(toFile: "\(folder)/modules/count.yaml", atomically: true, encoding: .utf8)
        try """
        name: \(name)
        modules: [modules]
        max_concurrent_executions: \(maxConcurrent)
        parameters:
          - {name: File, type: String, default: ""}
          - {name: Out, type: String, default: "\(folder)/out"}
        triggers:
          - {files: incoming, glob: "*.csv", parameter: File}
        steps:
          - name: Predict
            module: CountRows
            inputs: {path: $.parameters.File, out: $.parameters.Out}
        """.write(toFile: "\(folder)/\(file)", atomically: true, encoding: .utf8)
    }

    func executions(_ sandbox: ServingSandbox, trigger: String) throws -> [JSONValue] {
        let listed = try sandbox.run(["executions", "--trigger", trigger, "--limit", "1000", "--format", "json"])
        return try JSONDecoder().decode(JSONValue.self, from: Data(listed.out.utf8)).array ?? []
    }

    func kill9(_ command: RunningCommand) {
        kill(command.process.processIdentifier, SIGKILL)
        command.process.waitUntilExit()
    }

    func stop(_ command: RunningCommand) {
        if command.process.isRunning { kill(command.process.processIdentifier, SIGTERM) }
        command.process.waitUntilExit()
    }

    @Test func filesFireOncePerContentAcrossAKilledServer() async throws {
        let sandbox = try ServingSandbox()
        let folder = sandbox.folder
        try Self.writeCountingPipeline(named: "PredictFile", maxConcurrent: 4, to: "batch.yaml", in: folder)
        try Self.writer.write(toFile: "\(folder)/writer.py", atomically: true, encoding: .utf8)
        let enabled = try sandbox.run(["triggers", "enable", "batch.yaml"])
        #expect(enabled.status == 0, "\(enabled.err)")
        #expect(enabled.out.contains("enabled PredictFile:1"))

        func outputs() -> [String] {
            ((try? FileManager.default.contentsOfDirectory(atPath: "\(folder)/out")) ?? []).filter {
                $0.hasSuffix(".out")
            }
        }
        var server = try sandbox.start(["serve", "--port", "0"])
        let writer = Process()
        writer.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        writer.arguments = ["python3", "\(folder)/writer.py", "\(folder)/incoming"]
        try writer.run()
        defer {
            if writer.isRunning { kill(writer.processIdentifier, SIGKILL) }
            writer.waitUntilExit()
            stop(server)
        }
        #expect(await eventually(within: 120) { outputs().count >= 25 || !server.process.isRunning })
        kill9(server)
        let firstRun = server.output()
        server = try sandbox.start(["serve", "--port", "0"])
        _ = await eventually(within: 240) { !writer.isRunning }
        #expect(writer.terminationStatus == 0)
        #expect(await eventually(within: 240) { outputs().count == 100 }, "\(firstRun)\n\(server.output())")

        // Every file predicted from its whole content.
        for index in 0..<100 {
            let name = String(format: "f%03d.csv", index)
            let text = try String(contentsOfFile: "\(folder)/out/\(name).out", encoding: .utf8)
            let rows = 5 + index % 40
            #expect(text == "\(rows) \(index * 1000 + rows - 1)\n", "\(name)")
        }
        // One execution per file, none failed.
        #expect(
            await eventually(within: 120) {
                let listed = (try? executions(sandbox, trigger: "PredictFile:1")) ?? []
                return listed.count == 100
                    && listed.allSatisfy { $0.object?["status"]?.string == "succeeded" }
            })
        let listed = try executions(sandbox, trigger: "PredictFile:1")
        let files = listed.compactMap { $0.object?["parameters"]?.object?["File"]?.string }
        #expect(files.count == 100 && Set(files).count == 100)
        #expect(files.allSatisfy { $0.hasPrefix("\(folder)/incoming/f") && $0.hasSuffix(".csv") })

        // A changed file fires again; an unchanged one does not.
        try "x\n7\n".write(toFile: "\(folder)/incoming/f000.csv", atomically: true, encoding: .utf8)
        #expect(
            await eventually(within: 120) {
                (try? String(contentsOfFile: "\(folder)/out/f000.csv.out", encoding: .utf8)) == "1 7\n"
            })
        #expect(try executions(sandbox, trigger: "PredictFile:1").count == 101)
        let list = try sandbox.run(["triggers", "list", "--format", "json"])
        let triggers = try JSONDecoder().decode(JSONValue.self, from: Data(list.out.utf8)).array ?? []
        #expect(triggers.count == 1)
        #expect(triggers.first?.object?["lastFiring"]?.object?["key"]?.string?.contains("f000.csv") == true)
    }

    #if os(Linux)
        /// A writer that keeps its file open and pauses far longer than the polling settle time: the kernel says the
        /// file is still open, so it fires once, when closed, with its whole content.
        @Test func aFileOpenForWritingWaitsForItsClose() async throws {
            let sandbox = try ServingSandbox()
            let folder = sandbox.folder
            try Self.writeCountingPipeline(named: "CountFile", maxConcurrent: 1, to: "count.yaml", in: folder)
            #expect(try sandbox.run(["triggers", "enable", "count.yaml"]).status == 0)
            let server = try sandbox.start(["serve", "--port", "0"])
            defer { stop(server) }
            // A first file renamed in shows the server watches the folder.
            try "x\n1\n".write(toFile: "\(folder)/incoming/first.csv", atomically: true, encoding: .utf8)
            #expect(
                await eventually(within: 120) { FileManager.default.fileExists(atPath: "\(folder)/out/first.csv.out") },
                "\(server.output())")

            let writer = Process()
            writer.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            writer.arguments = [
                "python3", "-c",
                "import sys, time\nf = open(sys.argv[1], 'w')\nf.write('x\\n1\\n')\nf.flush()\ntime.sleep(1.5)\n"
                    + "f.write('2\\n3\\n')\nf.close()",
                "\(folder)/incoming/slow.csv",
            ]
            try writer.run()
            defer {
                if writer.isRunning { kill(writer.processIdentifier, SIGKILL) }
                writer.waitUntilExit()
            }
            #expect(
                await eventually(within: 120) {
                    (try? String(contentsOfFile: "\(folder)/out/slow.csv.out", encoding: .utf8)) != nil
                })
            #expect(!writer.isRunning)
            #expect(try String(contentsOfFile: "\(folder)/out/slow.csv.out", encoding: .utf8) == "3 3\n")
            let files = try executions(sandbox, trigger: "CountFile:1").compactMap {
                $0.object?["parameters"]?.object?["File"]?.string
            }
            #expect(files.sorted() == ["\(folder)/incoming/first.csv", "\(folder)/incoming/slow.csv"])
        }
    #endif

    @Test func aScheduleCatchesUpOnceAfterDowntime() async throws {
        let sandbox = try ServingSandbox()
        try FileManager.default.createDirectory(atPath: "\(sandbox.folder)/modules", withIntermediateDirectories: true)
        try Self.echoModule.write(toFile: "\(sandbox.folder)/modules/echo.yaml", atomically: true, encoding: .utf8)
        try """
        name: Tick
        modules: [modules]
        triggers:
          - {every: PT4S}
        steps:
          - {name: Echo, module: Echo, inputs: {value: tick}}
        """.write(toFile: "\(sandbox.folder)/tick.yaml", atomically: true, encoding: .utf8)
        #expect(try sandbox.run(["triggers", "enable", "tick.yaml"]).status == 0)
        // Firings are due at the whole second after enabling, then every 4 s. No server for the first three: all
        // missed. The server starts after the third (later on a busy machine: the catch-up is then a later one).
        let list = try sandbox.run(["triggers", "list", "--format", "json"])
        let enabledAt = try #require(
            (try JSONDecoder().decode(JSONValue.self, from: Data(list.out.utf8))).array?.first?.object?["enabledAt"]?
                .number)
        let lastMissed = Int64(enabledAt.rounded(.up)) + 8
        try await Task.sleep(for: .seconds(max(0, Double(lastMissed) + 0.2 - Date().timeIntervalSince1970)))
        let serverStart = Date().timeIntervalSince1970
        let server = try sandbox.start(["serve", "--port", "0"])
        defer { stop(server) }
        #expect(await eventually(within: 120) { ((try? executions(sandbox, trigger: "Tick:1")) ?? []).count >= 1 })
        stop(server)
        let firings = try executions(sandbox, trigger: "Tick:1").compactMap { execution -> (Int64, Double)? in
            guard let firing = execution.object?["firing"]?.object,
                let scheduled = firing["scheduledTime"]?.number, let firedAt = firing["firedAt"]?.number
            else { return nil }
            return (Int64(scheduled), firedAt)
        }.sorted { $0.0 < $1.0 }
        let scheduled = firings.map(\.0)
        // One catch-up, at the latest time due when it fired: not one per missed firing, not the first missed one.
        let first = try #require(firings.first)
        let anchor = lastMissed - 8
        #expect(first.0 >= lastMissed, "\(scheduled) from \(serverStart)")
        #expect(first.0 == anchor + Int64((first.1 - Double(anchor)) / 4) * 4, "\(firings)")
        #expect(Set(scheduled).count == scheduled.count)
    }

    @Test func approvingAModelVersionStartsThePipelineOnce() async throws {
        let sandbox = try ServingSandbox()
        try FileManager.default.createDirectory(atPath: "\(sandbox.folder)/modules", withIntermediateDirectories: true)
        try Self.echoModule.write(toFile: "\(sandbox.folder)/modules/echo.yaml", atomically: true, encoding: .utf8)
        try """
        name: Deploy
        modules: [modules]
        parameters:
          - {name: Version, type: String, default: none}
        triggers:
          - {on: {model_approved: {group: G}}, parameter: Version}
        steps:
          - {name: Echo, module: Echo, inputs: {value: $.parameters.Version}}
        """.write(toFile: "\(sandbox.folder)/deploy.yaml", atomically: true, encoding: .utf8)
        // A second pipeline starts on every registration, approved or not.
        try """
        name: Watch
        modules: [modules]
        parameters:
          - {name: Version, type: String, default: none}
        triggers:
          - {on: {model_registered: {group: G}}, parameter: Version}
        steps:
          - {name: Echo, module: Echo, inputs: {value: $.parameters.Version}}
        """.write(toFile: "\(sandbox.folder)/watch.yaml", atomically: true, encoding: .utf8)
        // Approved before the triggers were enabled: not an event for them.
        try sandbox.register("G", slope: 1, status: .approved, time: Date().timeIntervalSince1970 - 60)
        #expect(try sandbox.run(["triggers", "enable", "deploy.yaml"]).status == 0)
        #expect(try sandbox.run(["triggers", "enable", "watch.yaml"]).status == 0)
        let server = try sandbox.start(["serve", "--port", "0"])
        defer { stop(server) }
        try sandbox.register("G", slope: 2, status: .pendingManualApproval, time: Date().timeIntervalSince1970)
        let approved = try sandbox.run(["models", "approve", "G/2"])
        #expect(approved.status == 0, "\(approved.err)")
        #expect(
            await eventually(within: 120) {
                ((try? executions(sandbox, trigger: "Deploy:1")) ?? []).first?.object?["status"]?.string
                    == "succeeded"
            })
        try sandbox.register("G", slope: 3, status: .approved, time: Date().timeIntervalSince1970)
        #expect(await eventually(within: 120) { ((try? executions(sandbox, trigger: "Deploy:1")) ?? []).count >= 2 })
        #expect(await eventually(within: 120) { ((try? executions(sandbox, trigger: "Watch:1")) ?? []).count >= 2 })
        stop(server)
        let versions = try executions(sandbox, trigger: "Deploy:1").compactMap {
            $0.object?["parameters"]?.object?["Version"]?.string
        }
        #expect(versions.sorted() == ["G/2", "G/3"])
        // G/2 was registered pending, G/3 approved: both are registrations.
        let registered = try executions(sandbox, trigger: "Watch:1").compactMap {
            $0.object?["parameters"]?.object?["Version"]?.string
        }
        #expect(registered.sorted() == ["G/2", "G/3"])
        #expect(try sandbox.run(["triggers", "disable", "watch.yaml"]).status == 0)

        // A restarted server does not start it again for those versions: the registry's events are read in order,
        // so a second start for G/2 or G/3 would come before G/4's.
        let restarted = try sandbox.start(["serve", "--port", "0"])
        defer { stop(restarted) }
        try sandbox.register("G", slope: 4, status: .approved, time: Date().timeIntervalSince1970)
        #expect(await eventually(within: 120) { ((try? executions(sandbox, trigger: "Deploy:1")) ?? []).count >= 3 })
        stop(restarted)
        let after = try executions(sandbox, trigger: "Deploy:1").compactMap {
            $0.object?["parameters"]?.object?["Version"]?.string
        }
        #expect(after.sorted() == ["G/2", "G/3", "G/4"])
        // The disabled trigger did not fire for G/4, which the same registry poll handed to Deploy's.
        #expect(try executions(sandbox, trigger: "Watch:1").count == 2)
    }

    /// Two schedules firing every second whose step takes longer than a second: the one allowing one execution at
    /// a time never runs two at once; the one allowing three does overlap.
    @Test func firingsOfOneScheduleOverlapOnlyWhenThePipelineAllows() async throws {
        let sandbox = try ServingSandbox()
        try FileManager.default.createDirectory(atPath: "\(sandbox.folder)/modules", withIntermediateDirectories: true)
        try """
        name: Wait
        implementation: {command: [sleep, "2"]}
        inputs: []
        outputs: []
        """.write(toFile: "\(sandbox.folder)/modules/wait.yaml", atomically: true, encoding: .utf8)
        for (name, allowed) in [("OneAtATime", 1), ("ThreeAtATime", 3)] {
            try """
            name: \(name)
            modules: [modules]
            max_concurrent_executions: \(allowed)
            triggers:
              - {every: PT1S}
            steps:
              - {name: Wait, module: Wait}
            """.write(toFile: "\(sandbox.folder)/\(name).yaml", atomically: true, encoding: .utf8)
            let enabled = try sandbox.run(["triggers", "enable", "\(name).yaml"])
            #expect(enabled.status == 0, "\(enabled.err)")
        }
        func finished(_ trigger: String) -> [(start: Double, end: Double, scheduled: Double)] {
            ((try? executions(sandbox, trigger: trigger)) ?? []).compactMap { execution in
                let fields = execution.object
                guard let start = fields?["startedAt"]?.string.flatMap(Self.seconds),
                    let end = fields?["finishedAt"]?.string.flatMap(Self.seconds),
                    let scheduled = fields?["firing"]?.object?["scheduledTime"]?.number
                else { return nil }
                return (start, end, scheduled)
            }.sorted { $0.start < $1.start }
        }
        let server = try sandbox.start(["serve", "--port", "0"])
        defer { stop(server) }
        #expect(
            await eventually(within: 120) {
                finished("OneAtATime:1").count >= 3 && finished("ThreeAtATime:1").count >= 3
            }, "\(server.output())")
        stop(server)

        let serial = finished("OneAtATime:1")
        let failed = try executions(sandbox, trigger: "OneAtATime:1").filter {
            $0.object?["status"]?.string == "failed"
        }
        #expect(failed.isEmpty)
        for (before, after) in zip(serial, serial.dropFirst()) {
            #expect(after.start >= before.end, "\(serial)")
            #expect(after.scheduled > before.scheduled, "\(serial)")
        }
        let parallel = finished("ThreeAtATime:1")
        #expect(zip(parallel, parallel.dropFirst()).contains { $1.start < $0.end }, "\(parallel)")
    }

    /// Seconds since 1970 from the ISO 8601 times `sluice executions` prints.
    static func seconds(_ text: String) -> Double? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.date(from: text)?.timeIntervalSince1970
    }
}
