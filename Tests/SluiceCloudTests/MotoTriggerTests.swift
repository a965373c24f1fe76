import Foundation
import SluiceCore
import SluiceTesting
import Testing

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A files trigger on an `s3://` prefix of moto's S3 server, run by `sluice serve`: objects put by boto3 start the
/// pipeline once per content (ETag), across a server killed with `kill -9` and restarted.
@Suite(.serialized) struct MotoTriggerTests {
    @Test func objectsUnderAPrefixFireOncePerETagAcrossAKilledServer() async throws {
        try await onOwnThread { try Self.objectsFireOncePerETag() }
    }

    static func objectsFireOncePerETag() throws {
        let scratch = try Scratch()
        let moto = try MotoServer(scratch: scratch)
        defer { moto.stop() }
        let bucket = "sluice-trigger"
        let (keys, aws) = try moto.signedUser(bucket: bucket, in: scratch)
        try scratch.write(
            "modules/echo.yaml",
            """
            name: Echo
            implementation: {builtin: echo}
            inputs: [{name: value, type: String}]
            outputs: [{name: value, type: String}]
            """)
        try scratch.write(
            "batch.yaml",
            """
            name: ObjectBatch
            modules: [modules]
            max_concurrent_executions: 4
            parameters: [{name: File, type: String, default: ""}]
            triggers:
              - {files: "s3://\(bucket)/incoming", glob: "*.csv", parameter: File}
            steps:
              - {name: Echo, module: Echo, inputs: {value: $.parameters.File}}
            """)
        let enabled = try sluice(["triggers", "enable", "batch.yaml"], in: scratch, aws: aws)
        #expect(enabled.status == 0, "\(enabled.errors)")

        /// Puts each (key, text) with one boto3 process.
        func put(_ objects: [(key: String, text: String)]) throws {
            var pairs: [String] = []
            for object in objects {
                let name = "upload-\(UUID().uuidString)"
                try scratch.write(name, object.text)
                pairs += [object.key, name]
            }
            _ = try moto.boto(["upload-many", bucket] + pairs, keys: keys, in: scratch)
        }
        func fired() throws -> [String] {
            let listed = try sluice(
                ["executions", "--trigger", "ObjectBatch:1", "--limit", "100", "--format", "json"], in: scratch)
            let executions = try JSONDecoder().decode(JSONValue.self, from: Data(listed.output.utf8)).array ?? []
            return executions.compactMap { $0.object?["parameters"]?.object?["File"]?.string }.sorted()
        }
        let uri = { (name: String) in "s3://\(bucket)/incoming/\(name)" }

        // Only objects directly under the prefix whose names match the glob fire.
        try put([
            ("incoming/a.csv", "x\n1\n"), ("incoming/b.csv", "x\n2\n"), ("incoming/notes.txt", "not a csv\n"),
            ("incoming/deeper/c.csv", "x\n3\n"), ("elsewhere/d.csv", "x\n4\n"),
        ])
        var server = try Serve(in: scratch, aws: aws)
        defer { server.stop() }
        #expect(waitUntil { (try? fired())?.count ?? 0 >= 2 }, "\(server.log())")
        #expect(try fired() == [uri("a.csv"), uri("b.csv")])

        // Killed: what changes meanwhile is found by the next server. The same content again (same ETag) does not
        // fire; new content does, and so does a new object.
        server.kill9()
        try put([("incoming/a.csv", "x\n1\n"), ("incoming/b.csv", "x\n2\n3\n"), ("incoming/e.csv", "x\n5\n")])
        server = try Serve(in: scratch, aws: aws)
        #expect(waitUntil { (try? fired())?.count ?? 0 >= 4 }, "\(server.log())")
        // A listing fires in key order, so a second firing of a.csv would have come before e.csv's.
        #expect(try fired() == [uri("a.csv"), uri("b.csv"), uri("b.csv"), uri("e.csv")])
        server.stop()

        let list = try sluice(["triggers", "list", "--format", "json"], in: scratch)
        let triggers = try JSONDecoder().decode(JSONValue.self, from: Data(list.output.utf8)).array ?? []
        let etag = try moto.boto(["etag", bucket, "incoming/e.csv"], keys: keys, in: scratch)
        let lastKey = triggers.first?.object?["lastFiring"]?.object?["key"]?.string ?? ""
        let unquoted = etag.trimmingCharacters(in: CharacterSet(charactersIn: "\""))
        #expect(lastKey == "object:\(uri("e.csv")):etag:\(unquoted)")
    }

    /// Polls `condition` every 100 ms for up to two minutes.
    static func waitUntil(_ condition: () -> Bool) -> Bool {
        for _ in 0..<1200 {
            if condition() { return true }
            usleep(100_000)
        }
        return condition()
    }
}

/// `sluice serve` on a free port in `scratch`, pointed at moto, its output in a file; stopped by its pid.
private final class Serve {
    let process = Process()
    let logPath: String

    init(in scratch: Scratch, aws: [String: String]) throws {
        logPath = "\(scratch.path)/serve-\(UUID().uuidString).log"
        process.executableURL = URL(fileURLWithPath: SluiceBinary.path)
        process.arguments = ["serve", "--port", "0"]
        process.environment = cleanEnvironment(
            aws.merging(["HOME": scratch.path, "SLUICE_HOME": "\(scratch.path)/.sluice"]) { $1 })
        process.currentDirectoryURL = URL(fileURLWithPath: scratch.path)
        FileManager.default.createFile(atPath: logPath, contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        process.standardError = process.standardOutput
        process.standardInput = FileHandle.nullDevice
        try process.run()
    }

    func log() -> String {
        String(decoding: FileManager.default.contents(atPath: logPath) ?? Data(), as: UTF8.self)
    }

    func kill9() {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    func stop() {
        if process.isRunning { kill(process.processIdentifier, SIGTERM) }
        process.waitUntilExit()
    }
}
