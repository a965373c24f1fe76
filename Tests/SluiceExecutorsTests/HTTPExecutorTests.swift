import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import SluiceCore
import SluiceExecutors
import SluiceTesting
import Testing

@Suite struct HTTPExecutorTests {
    /// A scoring service: `/score` doubles `x` and echoes the Sluice and auth headers; `/fail` answers 503.
    static func routes(_ router: Router<BasicRequestContext>) {
        router.post("/score") { request, _ -> Response in
            let body = try await request.body.collect(upTo: 1 << 20)
            let inputs = try JSONDecoder().decode([String: JSONValue].self, from: Data(body.readableBytesView))
            let x = inputs["x"]?.number ?? .nan
            let header = { (name: String) in request.headers[HTTPField.Name(name)!] ?? "" }
            let answer: JSONValue = [
                "score": .double(x * 2), "execution": .string(header("X-Sluice-Execution")),
                "step": .string(header("X-Sluice-Step")),
                "attempt": .string(header("X-Sluice-Attempt")), "auth": .string(header("Authorization")),
                "contentType": .string(header("Content-Type")),
            ]
            return Response(
                status: .ok, headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(bytes: try JSONEncoder().encode(answer))))
        }
        router.post("/fail") { _, _ -> Response in
            Response(
                status: .serviceUnavailable,
                body: .init(byteBuffer: ByteBuffer(string: "warming up\nretry in a minute")))
        }
        router.post("/text") { _, _ -> Response in
            Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: "plain words")))
        }
        router.post("/slow") { _, _ -> Response in
            try await Task.sleep(for: .seconds(5))
            return Response(status: .ok)
        }
    }

    func request(_ url: String, headers: [String: String] = [:], inputs: [String: JSONValue] = ["x": 21])
        -> StepRequest
    {
        let module = Module(
            name: "Score", kind: .http, inputs: [.init(name: "x", type: .float)],
            outputs: [.init(name: "score", type: .float)],
            implementation: .http(url: url, method: "POST", headers: headers), baseDirectory: "/tmp")
        return StepRequest(
            executionID: "ex1", stepName: "Score", attempt: 3, module: module, inputs: inputs,
            workDirectory: NSTemporaryDirectory() + "sluice-http-\(UUID().uuidString)")
    }

    @Test func answeredObjectBecomesTheOutputs() async throws {
        try await withTestServer(Self.routes) { base in
            let executor = HTTPExecutor(environment: ["SCORE_TOKEN": "s3cret"])
            let result = try await executor.run(
                request(base + "/score", headers: ["Authorization": "Bearer ${SCORE_TOKEN}"]))
            guard case .succeeded(let outputs) = result else {
                Issue.record("expected success, got \(result)")
                return
            }
            #expect(outputs["score"]?.number == 42)
            #expect(outputs["execution"] == "ex1")
            #expect(outputs["step"] == "Score")
            #expect(outputs["attempt"] == "3")
            #expect(outputs["auth"] == "Bearer s3cret")
            #expect(outputs["contentType"] == "application/json")
        }
    }

    @Test func errorStatusFailsWithItsNameAndBodyTail() async throws {
        try await withTestServer(Self.routes) { base in
            let result = try await HTTPExecutor().run(request(base + "/fail"))
            guard case .failed(let failure) = result else {
                Issue.record("expected failure, got \(result)")
                return
            }
            #expect(failure.error == "HTTP.503")
            #expect(failure.cause.contains("503"))
            #expect(failure.cause.contains("retry in a minute"))
        }
    }

    @Test func refusedConnectionFailsWithConnectionFailed() async throws {
        let port = try #require(LoopbackPort.free(), "no free loopback port")
        let result = try await HTTPExecutor().run(request("http://127.0.0.1:\(port)/score"))
        guard case .failed(let failure) = result else {
            Issue.record("expected failure, got \(result)")
            return
        }
        #expect(failure.error == "HTTP.ConnectionFailed")
        #expect(failure.cause.contains("127.0.0.1:\(port)"), "\(failure.cause)")
    }

    @Test func nonJSONAnswerIsABadOutputsFailure() async throws {
        try await withTestServer(Self.routes) { base in
            let result = try await HTTPExecutor().run(request(base + "/text"))
            guard case .failed(let failure) = result else {
                Issue.record("expected failure, got \(result)")
                return
            }
            #expect(failure.error == "Sluice.BadOutputs")
            #expect(failure.cause.contains("plain words"))
        }
    }

    @Test func slowServiceFailsWithTimeout() async throws {
        try await withTestServer(Self.routes) { base in
            let result = try await HTTPExecutor(requestTimeout: .milliseconds(200)).run(request(base + "/slow"))
            guard case .failed(let failure) = result else {
                Issue.record("expected failure, got \(result)")
                return
            }
            #expect(failure.error == ErrorName.timeout)
        }
    }

    @Test func preflightNamesAMissingVariableAndABadURL() throws {
        let executor = HTTPExecutor(environment: [:])
        let missing = executor.preflight(
            request("http://localhost:1/x", headers: ["Authorization": "Bearer ${SCORE_TOKEN}"]).module)
        #expect(missing?.cause.contains("SCORE_TOKEN") == true)
        let ftp = executor.preflight(request("ftp://example.com/x").module)
        #expect(ftp?.error == "HTTP.InvalidURL")
        #expect(executor.preflight(request("http://localhost:8080/x").module) == nil)
        #expect(executor.preflight(request("https://example.com/x").module) == nil)
    }

    /// A `SLUICE_CA_BUNDLE` that is not a PEM file is named before the run, for `https://` modules only.
    @Test func preflightNamesAnUnreadableCABundle() throws {
        let path = FileManager.default.temporaryDirectory.path + "/sluice-no-such-bundle-\(UUID().uuidString).pem"
        let executor = HTTPExecutor(environment: ["SLUICE_CA_BUNDLE": path])
        let failure = executor.preflight(request("https://localhost:8443/x").module)
        #expect(failure?.error == "HTTP.BadCABundle")
        #expect(failure?.cause.hasPrefix("SLUICE_CA_BUNDLE names \(path): ") == true, "\(String(describing: failure))")
        #expect(executor.preflight(request("http://localhost:8080/x").module) == nil)
        // An empty variable is no bundle at all, as with AWS_CA_BUNDLE.
        #expect(
            HTTPExecutor(environment: ["SLUICE_CA_BUNDLE": " "]).preflight(request("https://localhost:8443/x").module)
                == nil)
    }
}
