import ArgumentParser
import Foundation
import SluiceCore
import SluiceEngine
import SluiceExecutors
import SluiceStore

/// `sluice bench-engine`: engine overhead per step with every transition durable (SQLite WAL, synchronous=FULL).
struct BenchEngineCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-engine", abstract: "Measure the engine's per-step overhead (prints figures).")

    @Option(help: "Built-in no-op steps per pipeline.")
    var steps: Int = 1000

    @Option(help: "Command steps for the spawn-overhead figure.")
    var commands: Int = 100

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
        let context = try EngineContext.open(maxParallel: 8, home: home)
        print("engine benchmark: every transition committed with SQLite WAL + synchronous=FULL (\(folder))")
        for (label, pipeline) in [("chain", chain), ("fan-out", fan)] {
            let seconds = try await time(context, pipeline)
            print(
                String(
                    format: "  %d no-op built-in steps as a %@: %.1f ms total, %.1f µs per step", pipeline.steps.count,
                    label, seconds * 1000, seconds * 1e6 / Double(pipeline.steps.count)))
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
        let bareStart = Date()
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
        let engine = try await time(context, commandChain) / Double(commands)
        print(
            String(
                format:
                    "  command step (%d × `true` in a chain): %.2f ms per step; bare spawn+wait %.2f ms; engine overhead %.2f ms",
                commands, engine * 1000, bare * 1000, (engine - bare) * 1000))
    }

    private func time(_ context: EngineContext, _ pipeline: Pipeline) async throws -> Double {
        let id = EngineContext.newExecutionID()
        let execution = try context.engine.prepare(pipeline: pipeline, overrides: [:], id: id)
        try context.store.createExecution(execution)
        let start = Date()
        let status = try await context.claimAndDrive(
            executionID: id, pipeline: pipeline, display: LiveDisplay(quiet: true))
        let seconds = Date().timeIntervalSince(start)
        guard status == .succeeded else { throw CLIError("benchmark execution \(id) \(status.rawValue)") }
        return seconds
    }
}
