import Foundation
import SluiceCloud
import SluiceCore
import SluiceSpec
import SluiceTesting
import Testing

/// The pinned AWS tools (moto, statelint, cfn-lint, boto3) in the virtual environment `scripts/aws-test-tools`
/// makes; the first use runs that script, which returns at once when the environment is complete.
enum AWSTools {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    static let bin = environment(script: "aws-test-tools", variable: "SLUICE_AWS_VENV", folder: "aws-venv") + "/bin"

    /// The Python of the pinned SageMaker Python SDK's environment (`scripts/sagemaker-sdk`, run on first use).
    static let sagemakerPython =
        environment(script: "sagemaker-sdk", variable: "SLUICE_SAGEMAKER_VENV", folder: "sagemaker-venv")
        + "/bin/python"

    /// Runs `scripts/<script>` (which returns at once when its environment is complete) and returns the folder of
    /// that virtual environment: `$<variable>`, else `~/.cache/sluice-test/<folder>`.
    static func environment(script: String, variable: String, folder: String) -> String {
        let setup = Process()
        setup.executableURL = URL(fileURLWithPath: packageRoot + "/scripts/" + script)
        try? setup.run()
        setup.waitUntilExit()
        return ProcessInfo.processInfo.environment[variable] ?? (NSHomeDirectory() + "/.cache/sluice-test/" + folder)
    }

    /// Every pipeline under `examples/` (files named `*pipeline*.yaml`).
    static var examplePipelines: [String] {
        let root = packageRoot + "/examples"
        let walker = FileManager.default.enumerator(atPath: root)
        var found: [String] = []
        while let relative = walker?.nextObject() as? String {
            let name = (relative as NSString).lastPathComponent
            if name.contains("pipeline"), name.hasSuffix(".yaml") { found.append(root + "/" + relative) }
        }
        return found.sorted()
    }

    static func load(_ path: String) throws -> Pipeline {
        // W4 names its modules by ModuleId from the catalog: the README publishes them first.
        let (pipeline, diagnostics) = PipelineLoader.load(path: path, options: ExampleCatalog.options)
        guard let pipeline else {
            throw ToolFailure(message: diagnostics.map(\.description).joined(separator: "\n"))
        }
        return pipeline
    }

    static func temporaryFolder(_ label: String) throws -> String {
        let folder = NSTemporaryDirectory() + "sluice-\(label)-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        return folder
    }

    /// Runs a program to its end on a thread of its own; returns its exit status and both outputs.
    static func run(
        _ executable: String, _ arguments: [String], environment: [String: String] = [:], in folder: String? = nil
    ) async throws -> (status: Int32, output: String, error: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        var merged = ProcessInfo.processInfo.environment
        merged.merge(environment) { _, new in new }
        process.environment = merged
        if let folder { process.currentDirectoryURL = URL(fileURLWithPath: folder) }
        let (data, error) = try await runOffThePool(process)
        return (process.terminationStatus, String(decoding: data, as: UTF8.self), error)
    }

    /// Runs a Python script with the environment's interpreter.
    static func python(_ script: String, _ arguments: [String] = []) async throws -> (
        status: Int32, output: String, error: String
    ) {
        try await run(bin + "/python", ["-c", script] + arguments)
    }

    static func write(_ text: String, to path: String) throws {
        try FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
    }

    static func json(_ text: String) throws -> JSONValue {
        try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
    }
}

struct ToolFailure: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}
