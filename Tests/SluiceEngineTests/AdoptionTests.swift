import Foundation
import SluiceCore
import SluiceStore
import SluiceTesting
import Testing

@Suite(.serialized) struct AdoptionTests {
    /// One line of the marker file a step writes: `start|end STEP ATTEMPT PID SECONDS`.
    struct Mark {
        var isStart: Bool
        var step: String
        var attempt: Int
        var pid: Int
        var time: Double
    }

    /// Live (not zombie) processes of a process group, from `/proc`.
    static func liveMembers(of group: Int32) -> [Int32] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return names.compactMap { name -> Int32? in
            guard let pid = Int32(name), let data = FileManager.default.contents(atPath: "/proc/\(pid)/stat"),
                let close = String(decoding: data, as: UTF8.self).lastIndex(of: ")")
            else { return nil }
            let text = String(decoding: data, as: UTF8.self)
            let fields = text[text.index(after: close)...].split(separator: " ")
            return fields.count > 2 && fields[0] != "Z" && Int32(fields[2]) == group ? pid : nil
        }
    }

    static func marks(_ path: String) -> [Mark] {
        let text = String(decoding: FileManager.default.contents(atPath: path) ?? Data(), as: UTF8.self)
        return text.split(separator: "\n").compactMap { line in
            let fields = line.split(separator: " ")
            guard fields.count == 5, let attempt = Int(fields[2]), let pid = Int(fields[3]),
                let time = Double(fields[4])
            else { return nil }
            return Mark(isStart: fields[0] == "start", step: String(fields[1]), attempt: attempt, pid: pid, time: time)
        }
    }

    /// `kill -9` of the driving `sluice run`/`resume` 20 times during long command steps of a chain, resuming each
    /// time: the step's process outlives its driver and the next driver adopts it (waits for it, collects its exit
    /// status and outputs) instead of starting a second attempt beside it. The steps write their pid and start and
    /// end times to a marker file: no two attempts of one step were ever alive at once, and an adopted attempt was
    /// never run again.
    @Test func killedDriverNeverLeavesTwoLiveAttempts() async throws {
        // Blocks for long on the processes it starts: off the threads the async tests share.
        try await onOwnThread {
            let sandbox = try Sandbox()
            try sandbox.write(
                "long.yaml",
                """
                name: Long
                type: Command
                implementation:
                  command:
                    - sh
                    - -c
                    - >-
                      echo "start $SLUICE_STEP $SLUICE_ATTEMPT $$ $(date +%s.%N)" >> "$MARKER";
                      sleep 0.6;
                      echo "{\\"done\\": \\"$SLUICE_STEP\\"}" > outputs.json;
                      echo "end $SLUICE_STEP $SLUICE_ATTEMPT $$ $(date +%s.%N)" >> "$MARKER"
                inputs: []
                outputs: []
                """)
            let count = 30
            var steps = "name: LongChain\nsteps:\n"
            for index in 0..<count {
                steps += "  - name: S\(index)\n    module: Long\n"
                if index > 0 { steps += "    after: [S\(index - 1)]\n" }
            }
            try sandbox.write("pipeline.yaml", steps)
            // Each kill lands within 0.3 s of a step's process writing its start mark, inside its 0.6 s sleep: the
            // driver's own `running` line comes before the process exists, and a busy machine may take longer than
            // the sleep between the two.
            let (executionID, kills, finished) = try sandbox.runKillingTheDriver(
                kills: 20, delays: 0...300_000, afterShowing: "start ", in: "\(sandbox.folder)/marker.txt")
            #expect(finished)
            #expect(kills == 20)
            let store = try SQLiteStore(path: "\(sandbox.home)/sluice.db")
            let id = try #require(executionID)
            #expect(try store.execution(id: id)?.status == .succeeded)
            let marks = Self.marks("\(sandbox.folder)/marker.txt")
            let attempts = Dictionary(grouping: try store.attempts(executionID: id), by: \.step)
            var adopted = 0
            for record in try store.steps(executionID: id) {
                #expect(record.status == .succeeded, "step \(record.name)")
                #expect(record.outputs?["done"] == .string(record.name), "step \(record.name) outputs")
                let starts = marks.filter { $0.step == record.name && $0.isStart }
                let ends = marks.filter { $0.step == record.name && !$0.isStart }
                // Every attempt that started ran to its end (none was killed), and no interval overlaps another.
                #expect(starts.count == ends.count, "step \(record.name): \(starts.count) starts, \(ends.count) ends")
                let intervals = starts.map { start in
                    (start.time, ends.first { $0.pid == start.pid && $0.attempt == start.attempt }?.time ?? .infinity)
                }.sorted { $0.0 < $1.0 }
                for (earlier, later) in zip(intervals, intervals.dropFirst()) {
                    #expect(earlier.1 <= later.0, "step \(record.name): two attempts alive at once \(intervals)")
                }
                // An adopted attempt is the step's last one, and it ran once.
                for attempt in attempts[record.name] ?? [] where attempt.takeover == .adopted {
                    adopted += 1
                    #expect(attempt.number == record.attempt, "step \(record.name) re-ran after adopting \(attempt)")
                    #expect(starts.count == 1, "step \(record.name) adopted attempt \(attempt.number) ran again")
                }
                #expect((attempts[record.name] ?? []).allSatisfy { $0.takeover != .killed }, "step \(record.name)")
            }
            // Kills that land during a step's sleep leave a running process: such steps were adopted, not re-run.
            #expect(adopted > 0)
            let (status, shown) = try sandbox.run(["show", id])
            #expect(status == 0)
            #expect(shown.contains("adopted: its process outlived the driver"))
        }
    }

    /// A process that the takeover cannot adopt (the attempt's work folder lost its supervisor files) is killed with
    /// its whole process group before the next attempt starts, and the attempt says so.
    @Test func unadoptableProcessGroupIsKilledBeforeTheNextAttempt() async throws {
        // Blocks for long on the processes it starts: off the threads the async tests share.
        try await onOwnThread {
            let sandbox = try Sandbox()
            try sandbox.write(
                "long.yaml",
                """
                name: Long
                type: Command
                implementation:
                  command:
                    - sh
                    - -c
                    - >-
                      rm -f sluice-supervisor.pid;
                      echo "start $SLUICE_STEP $SLUICE_ATTEMPT $$ $(date +%s.%N)" >> "$MARKER";
                      sleep 600 &
                      if [ "$SLUICE_ATTEMPT" = 1 ]; then sleep 600; fi;
                      echo "end $SLUICE_STEP $SLUICE_ATTEMPT $$ $(date +%s.%N)" >> "$MARKER"; kill $! 2>/dev/null; true
                inputs: []
                outputs: []
                """)
            try sandbox.write("pipeline.yaml", "name: One\nsteps:\n  - name: S\n    module: Long\n")
            let run = sandbox.process(["run", "pipeline.yaml"])
            try run.run()
            let marker = "\(sandbox.folder)/marker.txt"
            // The first attempt's sleeps outlast any wait here (the takeover kills them): the driver is killed once
            // the step's process has started, however long a busy machine takes to get there.
            while run.isRunning, Self.marks(marker).isEmpty { usleep(20_000) }
            usleep(100_000)
            kill(run.processIdentifier, SIGKILL)
            run.waitUntilExit()
            let store = try SQLiteStore(path: "\(sandbox.home)/sluice.db")
            let id = try #require(try store.executions(limit: 1).first?.id)
            let process = try #require(try store.attemptProcesses(executionID: id, step: "S", attempt: 1).first)
            // Should the takeover fail to, the test still stops what it started.
            defer { if !Self.liveMembers(of: process.group).isEmpty { kill(-process.group, SIGKILL) } }
            #expect(!Self.liveMembers(of: process.group).isEmpty)
            let (status, output) = try sandbox.run(["resume", id])
            #expect(status == 0, "\(output)")
            // The first attempt's whole group (its shell and the background child) is gone, and never finished.
            #expect(Self.liveMembers(of: process.group).isEmpty)
            let marks = Self.marks(marker)
            #expect(marks.filter { $0.isStart }.map(\.attempt) == [1, 2])
            #expect(marks.filter { !$0.isStart }.map(\.attempt) == [2])
            let attempts = try store.attempts(executionID: id)
            #expect(attempts.first { $0.number == 1 }?.takeover == .killed)
            #expect(attempts.first { $0.number == 1 }?.status == .interrupted)
            let (_, shown) = try sandbox.run(["show", id])
            #expect(shown.contains("process group was still running and was killed"))
        }
    }
}
