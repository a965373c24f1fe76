import Foundation
import SluiceCore
import SluiceTesting
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// `/openapi.json` is kept true by schemathesis run against a live `sluice serve`: every documented operation is
/// exercised, none answers 5xx, and every answer matches the document (status, content type, headers, schema).
@Suite(.serialized) struct OpenAPITests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    /// The checks that make "every answer matches the document", plus no server errors and rejecting bad input.
    static let checks = [
        "not_a_server_error", "status_code_conformance", "content_type_conformance",
        "response_headers_conformance", "response_schema_conformance", "negative_data_rejection",
        "unsupported_method", "allow_header_conformance",
    ]

    @Test func schemathesisFindsEveryOperationAnsweredAsDocumented() async throws {
        let sandbox = try ServingSandbox()
        try sandbox.register("G", slope: 2)
        #expect(try sandbox.run(["endpoints", "deploy", "w1", "G/1", "--stage", "production"]).status == 0)
        let key = try sandbox.run(["keys", "create"]).out.trimmingCharacters(in: .whitespacesAndNewlines)
        let server = try sandbox.start(["serve", "--port", "0", "--default-endpoint", "w1"])
        defer {
            if server.process.isRunning { kill(server.process.processIdentifier, SIGTERM) }
            server.process.waitUntilExit()
        }
        let port = try #require(
            await server.firstMatch(of: /listening on http:\/\/127\.0\.0\.1:(\d+)/).flatMap { Int($0) },
            "sluice serve did not start: \(server.output())")

        // The document lists the routes `sluice serve` answers.
        let (data, _) = try await httpSession.data(from: URL(string: "http://127.0.0.1:\(port)/openapi.json")!)
        let document = try JSONDecoder().decode(JSONValue.self, from: data)
        #expect(document["openapi"]?.string == "3.1.0")
        let paths = try #require(document["paths"]?.object)
        for path in [
            "/ping", "/health", "/metrics", "/openapi.json", "/invocations", "/stream", "/batch", "/{stage}/stream",
            "/endpoints/{name}/{stage}/invocations", "/endpoints/{name}/{stage}/predict-by-id", "/api/executions",
            "/api/executions/{id}", "/approvals/{token}", "/respond",
        ] {
            #expect(paths[path] != nil, "\(path) is not in /openapi.json")
        }
        // A path no route claims answers a JSON error pointing at the document.
        let unknown = try await post(port, "/no/such/route", "{}", key: nil)
        #expect(unknown.status == 404 && unknown.body.contains("/openapi.json"), "\(unknown.status) \(unknown.body)")
        let methods = ["get", "put", "post", "delete", "patch"]
        let operations = Set(
            paths.flatMap { path, item in
                (item.object ?? [:]).keys.filter(methods.contains).map { "\($0.uppercased()) \(path)" }
            })

        // An execution waiting at its Approval step, so that its id and the approval's token answer 200.
        try Data(Self.gatePipeline.utf8).write(to: URL(fileURLWithPath: sandbox.folder + "/gate.yaml"))
        let submitted = try await post(port, "/api/executions", #"{"pipeline": "gate.yaml"}"#, key: nil)
        #expect(submitted.status == 202, "\(submitted.body)")
        let execution = try #require(
            try JSONDecoder().decode(JSONValue.self, from: Data(submitted.body.utf8))["id"]?.string)
        let token = try #require(await server.firstMatch(of: /\/approvals\/(sl-[0-9a-f]+)/))

        let folder = sandbox.folder
        let documentPath = folder + "/openapi.json"
        try data.write(to: URL(fileURLWithPath: documentPath))
        // Half the generated path values name what exists (the endpoint, its stage, the execution, the approval).
        let config = folder + "/schemathesis.toml"
        try Data(
            """
            [dictionaries]
            endpoints = { values = ["w1"] }
            stages = { values = ["production"] }
            executions = { values = ["\(execution)"] }
            tokens = { values = ["\(token)"] }

            [parameters]
            "path.name" = { dictionary = "endpoints", probability = 0.5 }
            "path.stage" = { dictionary = "stages", probability = 0.5 }
            "path.id" = { dictionary = "executions", probability = 0.5 }
            "path.token" = { dictionary = "tokens", probability = 0.5 }
            "query.token" = { dictionary = "tokens", probability = 0.5 }
            """.utf8
        ).write(to: URL(fileURLWithPath: config))
        let st = try await onOwnThread { try Self.schemathesis(in: folder) }
        let junit = sandbox.folder + "/schemathesis.xml"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: st)
        process.currentDirectoryURL = URL(fileURLWithPath: sandbox.folder)
        process.arguments = [
            // The document as served, read from a file: schemathesis leaves out the operation it was fetched from.
            "--config-file", config, "run", documentPath, "--url", "http://127.0.0.1:\(port)", "--checks",
            Self.checks.joined(separator: ","),
            "--phases", "examples,coverage,fuzzing", "--max-examples", "15", "--seed", "20261204", "--workers", "1",
            "--header", "x-api-key: \(key)", "--report", "junit", "--report-junit-path", junit,
            "--request-timeout", "30",
        ]
        var environment = ProcessInfo.processInfo.environment
        environment["NO_COLOR"] = "1"
        environment["HOME"] = sandbox.folder
        process.environment = environment
        let (output, errors) = try await runOffThePool(process)
        let log = String(decoding: output, as: UTF8.self) + errors
        #expect(process.terminationStatus == 0, "schemathesis found answers outside the document:\n\(log)")

        // Every documented operation was exercised.
        let report = try String(contentsOfFile: junit, encoding: .utf8)
        let exercised = Set(
            report.matches(of: /<testcase [^>]*name="([^"]+)"/).map {
                String($0.1).replacingOccurrences(of: "&amp;", with: "&")
            })
        #expect(operations.count >= 20)
        #expect(operations.subtracting(exercised).isEmpty, "not exercised: \(operations.subtracting(exercised))")
        // The named values reached the model: some predictions of endpoint w1 answered 200.
        let (metrics, _) = try await httpSession.data(from: URL(string: "http://127.0.0.1:\(port)/metrics")!)
        let answered = String(decoding: metrics, as: UTF8.self).split(separator: "\n").filter {
            $0.hasPrefix("sluice_requests_total{") && $0.contains(#"endpoint="w1""#) && $0.contains(#"status="200""#)
        }
        #expect(!answered.isEmpty, "no request reached endpoint w1's model")
        let summary = log.split(separator: "\n").filter { $0.contains("generated") || $0.contains(" passed") }
        print("schemathesis: \(exercised.count) operations exercised, no failures; \(summary.joined(separator: ";"))")
    }

    static let gatePipeline = """
        name: Gate
        steps:
          - name: Ship It
            type: Approval
            message: Ship it?
        """

    /// The pinned schemathesis that `scripts/schemathesis-venv` installs (scripts/test runs it first).
    static func schemathesis(in folder: String) throws -> String {
        let setup = Process()
        setup.executableURL = URL(fileURLWithPath: repository + "/scripts/schemathesis-venv")
        setup.currentDirectoryURL = URL(fileURLWithPath: folder)
        let output = Pipe()
        setup.standardOutput = output
        setup.standardError = FileHandle.standardError
        try setup.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        setup.waitUntilExit()
        guard setup.terminationStatus == 0 else {
            throw OpenAPITestError("scripts/schemathesis-venv failed (it installs schemathesis==4.32.5 from PyPI)")
        }
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

struct OpenAPITestError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
