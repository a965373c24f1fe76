import ArgumentParser
import Foundation
import SluiceCloud
import SluiceCore
import SluiceExecutors
import SluiceStore

/// `sluice job --module FILE --layout processing|training`: the entry point of Sluice's image on SageMaker. Runs one
/// built-in module with its inputs taken from SageMaker's folders and environment, and leaves its outputs where the
/// job uploads them from.
struct JobCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "job",
        abstract: "Run one built-in module inside a SageMaker job (the entry point of Sluice's exported image).",
        // Called by the exported image, not typed by users: kept out of `sluice --help`.
        shouldDisplay: false
    )

    @Option(help: "The module spec as JSON (written by `sluice export` into the image).") var module: String

    @Option(help: "processing (/opt/ml/processing/{input,output}) or training (/opt/ml/input/data, /opt/ml/model).")
    var layout: ContainerJob.Layout = .processing

    @Option(help: "What /opt/ml stands for; another folder runs the job without a container.")
    var root: String = "/opt/ml"

    func run() async throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: module))
        let spec = try JSONDecoder().decode(Module.self, from: data)
        let environment = ProcessInfo.processInfo.environment
        let home = SluiceHome.resolve()
        let scratch = home.path + "/job-\(getpid())"
        let folders = ContainerJobFolders(layout: layout, root: root, scratch: scratch + "/inputs")
        let inputs = try folders.inputs(of: spec, environment: environment)
        let store = try home.open(durability: .process)
        let artifacts = ArtifactStore(root: home.artifactsPath)
        let executor = BuiltinExecutor(EngineContext.builtins(store: store, artifacts: artifacts))
        if let failure = executor.preflight(spec) {
            FileHandle.standardError.write(Data("error: \(failure)\n".utf8))
            throw ExitCode.failure
        }
        let step = environment[ContainerJob.stepVariable] ?? spec.name
        let request = StepRequest(
            executionID: environment["SLUICE_EXECUTION_ID"] ?? "job", stepName: step, attempt: 1, module: spec,
            inputs: inputs, workDirectory: scratch + "/work",
            log: { line in FileHandle.standardError.write(Data((line + "\n").utf8)) })
        switch try await executor.run(request) {
        case .succeeded(let outputs):
            try folders.store(outputs, of: spec)
            print("step \(step) succeeded: \(outputs.keys.sorted().joined(separator: ", "))")
        case .failed(let failure):
            FileHandle.standardError.write(Data("step \(step) failed: \(failure)\n".utf8))
            throw ExitCode.failure
        }
    }
}

extension ContainerJob.Layout: ExpressibleByArgument {}
