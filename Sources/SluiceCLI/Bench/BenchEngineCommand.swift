import ArgumentParser
import Foundation
import SluiceCore
import SluiceEngine
import SluiceExecutors
import SluiceStore

/// `sluice bench-engine`: engine overhead per step with every transition committed before it shows.
struct BenchEngineCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-engine", abstract: "Measure the engine's per-step overhead (prints figures).")

    @Option(help: "Built-in no-op steps per pipeline.") var steps: Int = 1000
    @Option(help: "Command steps for the spawn-overhead figure.") var commands: Int = 100

    @Option(help: "What each commit survives: power (synced to disk) or process (reaches the OS; survives kill -9).")
    var durability: String = "power"

    func run() async throws {
        let folder = NSTemporaryDirectory() + "sluice-bench-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let home = SluiceHome(path: folder)
        let noop = Module(name: "Noop", kind: .builtin, implementation: .builtin(name: "noop", options: [:]))
        let chain = Pipeline(
            name: "bench-chain",
            steps: (0..<steps).map {
                Step(
                    name: "s\($0)", kind: .task(TaskSpec(module: "Noop")),
                    after: $0 == 0 ? [] : [Dependency("s\($0 - 1)")])
            },
            modules: ["Noop": noop])
        let fan = Pipeline(
            name: "bench-fan-out",
            steps: [Step(name: "root", kind: .task(TaskSpec(module: "Noop")))]
                + (0..<steps).map {
                    Step(name: "s\($0)", kind: .task(TaskSpec(module: "Noop")), after: [Dependency("root")])
                }
                + [
                    Step(
                        name: "join", kind: .task(TaskSpec(module: "Noop")),
                        after: (0..<steps).map { Dependency("s\($0)") })
                ],
            modules: ["Noop": noop])
        guard let mode = SQLiteStore.Durability(rawValue: durability) else {
            throw ValidationError("--durability is '\(durability)'; use 'power' or 'process'")
        }
        let context = try EngineContext.open(maxParallel: 8, home: home, durability: mode)
        let synchronous = mode == .power ? "FULL" : "NORMAL"
        print("engine benchmark: every transition committed, SQLite WAL + synchronous=\(synchronous) (\(folder))")
        // The floor: one durable write transaction (fdatasync of the WAL) on this disk.
        let probe = try context.engine.prepare(pipeline: chain, overrides: [:], id: "commit-probe")
        try context.store.createExecution(probe)
        _ = try context.store.claim(
            executionID: probe.id, owner: EngineContext.owner, now: Date().timeIntervalSince1970, leaseSeconds: 60
        ) { _ in true }
        let commitStart = Date()
        for _ in 0..<200 {
            _ = try context.store.renewLease(
                executionID: probe.id, owner: EngineContext.owner, now: Date().timeIntervalSince1970, leaseSeconds: 60)
        }
        let commit = Date().timeIntervalSince(commitStart) / 200
        print(String(format: "  one commit (the floor for a chain step): %.1f µs", commit * 1e6))
        _ = try context.store.requestCancel(executionID: probe.id, now: Date().timeIntervalSince1970)
        var cancelled = ExecutionChanges(executionID: probe.id, now: Date().timeIntervalSince1970)
        cancelled.executionStatus = (.cancelled, nil)
        try context.store.apply(cancelled)
        let strict = try EngineContext.open(maxParallel: 8, home: home, durability: mode, groupCommit: false)
        for (label, pipeline) in [("chain", chain), ("fan-out", fan)] {
            for (commits, engine) in [("group commit", context), ("one commit per step", strict)] {
                let (seconds, cpu) = try await time(engine, pipeline)
                print(
                    String(
                        format: "  %d no-op built-in steps as a %@, %@: %.1f ms total, %.1f µs per step "
                            + "(CPU %.1f µs per step)",
                        pipeline.steps.count, label, commits, seconds * 1000,
                        seconds * 1e6 / Double(pipeline.steps.count), cpu * 1e6 / Double(pipeline.steps.count)))
            }
        }
        // Command steps: the engine's overhead over spawning the same process bare.
        let truePath = ProcessRunner.which("true") ?? "/bin/true"
        let command = Module(
            name: "True", kind: .command, implementation: .command(arguments: [truePath], environment: [:]))
        let commandChain = Pipeline(
            name: "bench-commands",
            steps: (0..<commands).map {
                Step(
                    name: "c\($0)", kind: .task(TaskSpec(module: "True")),
                    after: $0 == 0 ? [] : [Dependency("c\($0 - 1)")])
            },
            modules: ["True": command])
        // What the folders and files of an attempt cost on this volume (ext4 inode allocation varies with churn).
        let probeStart = Date()
        for index in 0..<commands {
            let path = "\(folder)/probe/\(index)"
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            FileManager.default.createFile(atPath: "\(path)/file", contents: nil)
        }
        let inode = Date().timeIntervalSince(probeStart) / Double(2 * commands)
        let bareStart = Date()
        let bareCPUStart = Self.cpuSeconds()
        let runner = ProcessRunner()
        for index in 0..<commands {
            let work = "\(folder)/bare/\(index)"
            try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
            _ = try await runner.run(
                [truePath], environment: ProcessInfo.processInfo.environment, directory: work,
                stdout: "\(work)/stdout.log",
                stderr: "\(work)/stderr.log")
        }
        let bare = Date().timeIntervalSince(bareStart) / Double(commands)
        let bareCPU = (Self.cpuSeconds() - bareCPUStart) / Double(commands)
        let (engineSeconds, engineCPU) = try await time(context, commandChain)
        let engine = engineSeconds / Double(commands)
        let pooled = context.folderPool.counts
        print(
            String(
                format:
                    "  command step (%d × `true` in a chain): %.2f ms per step; bare spawn+wait %.2f ms; engine overhead %.2f ms",
                commands, engine * 1000, bare * 1000, (engine - bare) * 1000))
        print(
            String(
                format: "    CPU of this process per step: %.0f µs with the engine, %.0f µs bare",
                engineCPU * 1e6 / Double(commands), bareCPU * 1e6))
        print(
            String(
                format: "    one new folder or file on this volume: %.0f µs (an attempt's 7 folders and 3 files, the "
                    + "bare spawn's 1 and 2); attempts given a tree made ahead: %d of %d", inode * 1e6, pooled.taken,
                pooled.taken + pooled.missed))
    }

    /// Wall time and this process's CPU time (user + system) of one execution.
    private func time(_ context: EngineContext, _ pipeline: Pipeline) async throws -> (seconds: Double, cpu: Double) {
        let id = EngineContext.newExecutionID()
        let execution = try context.engine.prepare(pipeline: pipeline, overrides: [:], id: id)
        try context.store.createExecution(execution)
        let start = Date()
        let cpuStart = Self.cpuSeconds()
        let status = try await context.claimAndDrive(
            executionID: id, pipeline: pipeline, display: LiveDisplay(quiet: true))
        let seconds = Date().timeIntervalSince(start)
        guard status == .succeeded else { throw CLIError("benchmark execution \(id) \(status.rawValue)") }
        return (seconds, Self.cpuSeconds() - cpuStart)
    }

    static func cpuSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        func seconds(_ time: timeval) -> Double { Double(time.tv_sec) + Double(time.tv_usec) / 1e6 }
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }
}
