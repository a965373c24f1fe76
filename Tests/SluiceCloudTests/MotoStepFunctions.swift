import Foundation
import SluiceCloud
import SluiceCore
import SluiceTesting
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// moto's server for the `sluice aws` tests: `Fixtures/moto/server.py` (moto with stand-ins for what it does not
/// simulate, listed there) on a free loopback port, prepared by `Fixtures/moto/setup.py` (execution enabled, the role,
/// functions, buckets, model package groups and objects a test names); stopped by its pid.
struct MotoStepFunctions {
    let process = Process()
    let url: String
    /// The IAM role machines run as.
    let role: String
    /// The SNS topic for notices.
    let topic: String

    /// Starts the server and prepares it.
    /// - Parameters:
    ///   - answers: by function name, the fields its stand-in answer adds to the payload.
    ///   - setup: `setup.py`'s options (`--function NAME`, `--bucket NAME`, `--group NAME`, `--object B/K=TEXT`).
    init(folder: String, answers: JSONValue = [:], setup: [String]) async throws {
        let port = try #require(LoopbackPort.free())
        url = "http://127.0.0.1:\(port)"
        let answersPath = folder + "/moto-answers.json"
        try AWSTools.write(answers.prettyJSON, to: answersPath)
        process.executableURL = URL(fileURLWithPath: AWSTools.bin + "/python")
        process.arguments = [Self.fixtures + "/server.py", String(port), answersPath]
        process.currentDirectoryURL = URL(fileURLWithPath: folder)
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let prepared = try await AWSTools.run(AWSTools.bin + "/python", [Self.fixtures + "/setup.py", url] + setup)
        guard prepared.status == 0, let made = try? AWSTools.json(prepared.output),
            let role = made["role"]?.string, let topic = made["topic"]?.string
        else {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            throw ToolFailure(message: "Fixtures/moto/setup.py failed: \(prepared.output)\(prepared.error)")
        }
        self.role = role
        self.topic = topic
    }

    static let fixtures = AWSTools.packageRoot + "/Tests/SluiceCloudTests/Fixtures/moto"

    /// The environment that points `sluice` at this server with moto's keys (and no `~/.aws` of the machine).
    func environment(folder: String) -> [String: String] {
        [
            "AWS_ENDPOINT_URL": url, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
            "AWS_REGION": "us-east-1", "AWS_CONFIG_FILE": folder + "/no-config",
            "AWS_SHARED_CREDENTIALS_FILE": folder + "/no-credentials",
        ]
    }

    /// An object's text, read with boto3 (`Fixtures/moto/client.py cat`).
    func read(bucket: String, key: String) async throws -> String {
        let result = try await AWSTools.run(
            AWSTools.bin + "/python", [Self.fixtures + "/client.py", url, "cat", bucket, key],
            environment: ["AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"])
        return result.status == 0 ? result.output : "(\(result.error))"
    }

    func stop() {
        // SIGKILL: the server inherits the test runner's blocked SIGTERM and would never stop on terminate().
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }
}
