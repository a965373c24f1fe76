import Foundation
import SluiceTesting
import Testing

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

struct CloudTestError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// A temporary folder, removed when the test ends.
final class Scratch: Sendable {
    let path: String

    init() throws {
        path = NSTemporaryDirectory() + "sluice-cloud-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    func write(_ relative: String, _ text: String) throws {
        let file = "\(path)/\(relative)"
        try FileManager.default.createDirectory(
            atPath: (file as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try text.write(toFile: file, atomically: true, encoding: .utf8)
    }

    func read(_ relative: String) -> String? {
        FileManager.default.contents(atPath: "\(path)/\(relative)").map { String(decoding: $0, as: UTF8.self) }
    }
}

/// What a finished process printed.
struct Finished {
    var status: Int32
    var output: String
    var errors: String
}

/// Runs a program to completion; its output goes through files so a large output cannot block it.
func execute(
    _ program: String, _ arguments: [String], environment: [String: String], in directory: String
) throws -> Finished {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: program)
    process.arguments = arguments
    process.environment = environment
    process.currentDirectoryURL = URL(fileURLWithPath: directory)
    let stamp = UUID().uuidString
    let outPath = "\(directory)/.out-\(stamp)"
    let errPath = "\(directory)/.err-\(stamp)"
    FileManager.default.createFile(atPath: outPath, contents: nil)
    FileManager.default.createFile(atPath: errPath, contents: nil)
    defer {
        try? FileManager.default.removeItem(atPath: outPath)
        try? FileManager.default.removeItem(atPath: errPath)
    }
    process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: outPath))
    process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
    process.standardInput = FileHandle.nullDevice
    try process.run()
    process.waitUntilExit()
    let text = { (path: String) in String(decoding: FileManager.default.contents(atPath: path) ?? Data(), as: UTF8.self)
    }
    return Finished(status: process.terminationStatus, output: text(outPath), errors: text(errPath))
}

/// The environment of this process without any AWS setting, plus `extra`: tests never see the machine's own keys.
func cleanEnvironment(_ extra: [String: String]) -> [String: String] {
    ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("AWS_") && $0.key != "SLUICE_HOME" }
        .merging(extra) { $1 }
}

/// `sluice ARGUMENTS…` in `scratch`, with its own `.sluice` home and `HOME` (so no `~/.aws` of the machine counts).
func sluice(_ arguments: [String], in scratch: Scratch, aws: [String: String] = [:]) throws -> Finished {
    try execute(
        SluiceBinary.path, arguments,
        environment: cleanEnvironment(
            aws.merging(["HOME": scratch.path, "SLUICE_HOME": "\(scratch.path)/.sluice"]) { $1 }),
        in: scratch.path)
}

/// `sluice` as above, waited for on a thread of its own so the wait holds none of Swift's concurrency threads.
func sluiceOffThePool(_ arguments: [String], in scratch: Scratch, aws: [String: String] = [:]) async throws -> Finished
{
    try await onOwnThread { try sluice(arguments, in: scratch, aws: aws) }
}

let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures").path
let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().path

/// A pipeline whose one step upper-cases an `s3://` input and writes its result to an `s3://` template.
func writeUpperCasePipeline(in scratch: Scratch, input: String, output: String) throws {
    try scratch.write(
        "modules/upper.yaml",
        """
        name: Upper
        type: Command
        implementation:
          command: [sh, -c, 'mkdir -p output/Result && tr a-z A-Z < "$SM_CHANNEL_DATA" > output/Result/upper.csv']
        inputs:
          - name: Data
            type: S3DataSourceUri
            value: \(input)
        outputs:
          - name: Result
            type: S3DataSourceUri
            value: \(output)
        """)
    try scratch.write(
        "pipeline.yaml",
        """
        name: UpperCase
        Steps:
          StartsAt: Upper
          Upper:
            Module: Upper
            Type: Task
            cache: {enabled: true}
            End: True
        """)
}

/// moto's server on a loopback port with signatures checked (after the first three calls), stopped by pid.
final class MotoServer {
    let port: Int
    let python: String
    let process = Process()
    /// The certificates it serves TLS with, when it does.
    let tls: TestCertificates?
    var endpoint: String { tls == nil ? "http://127.0.0.1:\(port)" : "https://localhost:\(port)" }

    /// - Parameter tls: serve `https://` with these certificates (boto3 then trusts their authority).
    init(scratch: Scratch, tls: TestCertificates? = nil) throws {
        self.tls = tls
        let setup = try execute(
            "\(repository)/scripts/moto-venv", [], environment: ProcessInfo.processInfo.environment, in: scratch.path)
        guard setup.status == 0 else {
            throw CloudTestError(
                "scripts/moto-venv failed (it installs moto[server]==5.2.5 from PyPI):\n\(setup.errors)")
        }
        python = setup.output.trimmingCharacters(in: .whitespacesAndNewlines)
        guard let port = LoopbackPort.free() else { throw CloudTestError("no free loopback port") }
        self.port = port
        process.executableURL = URL(fileURLWithPath: (python as NSString).deletingLastPathComponent + "/moto_server")
        process.arguments =
            ["-H", "127.0.0.1", "-p", String(port)]
            + (tls.map { ["-c", $0.serverCertificate, "-k", $0.serverKey] } ?? [])
        process.environment = cleanEnvironment(["MOTO_PORT": String(port), "INITIAL_NO_AUTH_ACTION_COUNT": "3"])
        let log = "\(scratch.path)/moto.log"
        FileManager.default.createFile(atPath: log, contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        process.standardError = process.standardOutput
        process.standardInput = FileHandle.nullDevice
        try process.run()
        while !LoopbackPort.isListening(port) {
            guard process.isRunning else {
                throw CloudTestError("moto_server exited at start:\n\(scratch.read("moto.log") ?? "")")
            }
            usleep(50_000)
        }
    }

    deinit { stop() }

    /// Asks the server to stop, and kills it when it lingers (moto's exit waits for its request threads).
    func stop() {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGTERM)
        for _ in 0..<40 where process.isRunning { usleep(50_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    /// Spends the three unchecked calls on a user allowed everything, then makes `bucket` with its keys; every
    /// later call must be signed by them. Returns the keys and the environment that points Sluice at this server.
    func signedUser(bucket: String, in scratch: Scratch) throws -> (keys: (String, String), aws: [String: String]) {
        let created = try boto(["iam-user"], keys: ("testing", "testing"), in: scratch)
        let object = try JSONSerialization.jsonObject(with: Data(created.utf8)) as? [String: String]
        let keys = (object?["key"] ?? "", object?["secret"] ?? "")
        _ = try boto(["make-bucket", bucket], keys: keys, in: scratch)
        return (keys, ["AWS_ACCESS_KEY_ID": keys.0, "AWS_SECRET_ACCESS_KEY": keys.1, "AWS_ENDPOINT_URL_S3": endpoint])
    }

    /// Runs the boto3 helper (`Fixtures/moto/client.py COMMAND ARGS…`) with the given keys; its output, trimmed.
    func boto(_ arguments: [String], keys: (String, String), in scratch: Scratch) throws -> String {
        let result = try execute(
            python, ["\(fixtures)/moto/client.py", endpoint] + arguments,
            environment: cleanEnvironment(
                ["AWS_ACCESS_KEY_ID": keys.0, "AWS_SECRET_ACCESS_KEY": keys.1].merging(
                    tls.map { ["AWS_CA_BUNDLE": $0.authority] } ?? [:]
                ) { $1 }),
            in: scratch.path)
        guard result.status == 0 else {
            throw CloudTestError("boto3 \(arguments.joined(separator: " ")) failed:\n\(result.errors)")
        }
        return result.output.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

/// A certificate authority made for one test with openssl, a server certificate it signed for `localhost` and
/// `127.0.0.1`, and a second authority that signed nothing the server has.
struct TestCertificates {
    let authority: String
    let serverCertificate: String
    let serverKey: String
    let otherAuthority: String

    init(in scratch: Scratch) throws {
        let folder = scratch.path + "/tls"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        authority = folder + "/ca.pem"
        serverCertificate = folder + "/server.pem"
        serverKey = folder + "/server.key"
        otherAuthority = folder + "/other-ca.pem"
        let key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        let steps: [[String]] = [
            ["req", "-x509"] + key + [
                "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=Sluice Test CA",
            ],
            ["req"] + key + ["-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost"],
            [
                "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
                "-out", "server.pem", "-days", "2", "-extfile", "san.ext",
            ],
            ["req", "-x509"] + key + [
                "-keyout", "other.key", "-out", "other-ca.pem", "-days", "2", "-subj", "/CN=Other CA",
            ],
        ]
        try "subjectAltName=DNS:localhost,IP:127.0.0.1\n".write(
            toFile: folder + "/san.ext", atomically: true, encoding: .utf8)
        for arguments in steps {
            let result = try execute(
                "/usr/bin/openssl", arguments, environment: ProcessInfo.processInfo.environment, in: folder)
            guard result.status == 0 else {
                throw CloudTestError("openssl \(arguments.joined(separator: " ")) failed:\n\(result.errors)")
            }
        }
    }
}
