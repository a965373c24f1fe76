import Foundation
import SluiceServer
import SluiceServing
import Testing

/// Limits answered from the request's head, on every route, without waiting for a body that will not come.
/// Each test reads with a generous client timeout (60 s) and asserts that an answer arrives at all; the server's own
/// timeouts (request 300 ms, idle 120 s) make an answer from anything but the limit impossible within that time.
@Suite struct RequestLimitTests {
    static let configuration = SluiceServer.Configuration(
        host: "127.0.0.1", port: 0, idleTimeout: .seconds(120), requestTimeout: .milliseconds(300))

    /// A declared `Content-Length` over the route's limit is answered 413 at once, with no byte of the body sent:
    /// the serving routes (event-loop and router alike), the execution API (1 MiB), the approval form and the
    /// console's forms (64 KiB), the console's sign-in form (16 KiB), ground truth (6 MiB) and the feature lookups.
    @Test func declaredBodyOverTheRouteLimitIs413BeforeAnyBodyIsRead() async throws {
        let (service, key, _) = makeService()
        try await withLiveServer(service, configuration: Self.configuration) { base in
            let port = try #require(base.port)
            let cases: [(path: String, length: Int)] = [
                ("/endpoints/w1/production/stream", 99_999_999_999), ("/production/batch", 6 * 1024 * 1024 + 1),
                ("/endpoints/w1/invocations", 7_000_000), ("/api/executions", 1024 * 1024 + 1),
                ("/approvals/sl-token", 64 * 1024 + 1), ("/invokeFeatureStore", 64 * 1024 + 1),
                ("/invokeSagemakerAPI", 64 * 1024 + 1), ("/console/sign-in", 16 * 1024 + 1),
                ("/console/sign-in?next=/console/approvals", 16 * 1024 + 1),
                ("/console/approvals/decide", 64 * 1024 + 1),
                ("/endpoints/w1/ground-truth", 6 * 1024 * 1024 + 1),
                ("/endpoints/w1/production/predict-by-id", 64 * 1024 + 1),
            ]
            for (path, length) in cases {
                let connection = try RawConnection(port: port)
                defer { connection.close() }
                connection.write(
                    "POST \(path) HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nx-api-key: \(key)\r\n"
                        + "Content-Length: \(length)\r\n\r\n")
                let (response, closed) = try await connection.read { $0.contains("\r\n\r\n") && $0.hasSuffix("}") }
                #expect(response.hasPrefix("HTTP/1.1 413"), "\(path): \(response)")
                #expect(response.contains("PayloadTooLarge") && response.contains("\(length)-byte"), "\(path)")
                #expect(!closed || !response.isEmpty, "\(path): closed without an answer")
            }
            // The server is still serving.
            let good = try await send(
                base, "/production/stream", body: Data("[[1,2]]".utf8),
                headers: ["Content-Type": "application/json", "x-api-key": key])
            #expect(good.status == 200)
        }
    }

    /// A body too large for the event-loop path goes to the router; when it stops arriving it is answered 408 at
    /// the request timeout there too, not left to the idle timeout.
    @Test func stalledBodyOnTheRouterPathIs408() async throws {
        let (service, key, _) = makeService()
        try await withLiveServer(service, configuration: Self.configuration) { base in
            let connection = try RawConnection(port: try #require(base.port))
            defer { connection.close() }
            connection.write(
                "POST /endpoints/w1/production/batch HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                    + "x-api-key: \(key)\r\nContent-Length: 100000\r\n\r\n{\"x\": [[1, 2],")
            let response = try await connection.readResponse()
            #expect(response.hasPrefix("HTTP/1.1 408"), "\(response)")
            #expect(response.contains("RequestTimeout"))
        }
    }

    /// The limits `sluice serve` runs with, as the README's table gives them (the tests here use shorter timeouts).
    @Test func theDefaultsAreTheDocumentedLimits() {
        let defaults = SluiceServer.Configuration()
        #expect(defaults.host == "127.0.0.1" && defaults.bodyLimit == 6 * 1024 * 1024)
        #expect(defaults.requestTimeout == .seconds(10) && defaults.idleTimeout == .seconds(30))
    }

    /// Header fields over their limits (80 KiB, 1000 fields) are answered 431 instead of a dropped connection.
    @Test func headersOverTheLimitAre431() async throws {
        let (service, key, _) = makeService()
        try await withLiveServer(service, configuration: Self.configuration) { base in
            let huge = "x-padding: " + String(repeating: "a", count: 100 * 1024) + "\r\n"
            let many = (0..<1001).map { "x-field-\($0): a\r\n" }.joined()
            for fields in [huge, many] {
                let connection = try RawConnection(port: try #require(base.port))
                defer { connection.close() }
                connection.write(
                    "POST /production/stream HTTP/1.1\r\nHost: x\r\nx-api-key: \(key)\r\n\(fields)"
                        + "Content-Length: 7\r\n\r\n[[1,2]]")
                let response = try await connection.readResponse()
                #expect(response.hasPrefix("HTTP/1.1 431"), "\(response)")
                #expect(response.contains("RequestHeaderFieldsTooLarge"))
            }
        }
    }
}
