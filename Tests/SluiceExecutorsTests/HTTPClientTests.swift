import Glibc
import HTTPTypes
import Hummingbird
import NIOCore
import NIOPosix
import SluiceExecutors
import SluiceHTTPClient
import SluiceTesting
import Testing

@Suite struct HTTPClientTests {
    let client = HTTPClient()

    /// Routes shared by the tests: echo, a chunked answer, a slow answer, an error status.
    static func routes(_ router: Router<BasicRequestContext>) {
        router.post("/echo") { request, _ -> Response in
            let body = try await request.body.collect(upTo: 1 << 20)
            let tag = request.headers[HTTPField.Name("X-Tag")!] ?? "none"
            return Response(
                status: .ok, headers: [.contentType: "application/json", HTTPField.Name("X-Seen-Tag")!: tag],
                body: .init(byteBuffer: body))
        }
        router.get("/chunked") { _, _ -> Response in
            Response(
                status: .ok,
                body: ResponseBody { writer in
                    for part in ["alpha-", "beta-", "gamma"] {
                        try await writer.write(ByteBuffer(string: part))
                        try await Task.sleep(for: .milliseconds(5))
                    }
                    try await writer.finish(nil)
                })
        }
        router.get("/slow") { _, _ -> Response in
            try await Task.sleep(for: .seconds(300))
            return Response(status: .ok)
        }
        router.post("/refuse") { _, _ -> Response in
            // Answers before reading the body, as a server refusing a key does; the connection is then half-closed.
            Response(status: .unauthorized, body: .init(byteBuffer: ByteBuffer(string: "no key")))
        }
        router.post("/fail") { _, _ -> Response in
            Response(status: .internalServerError, body: .init(byteBuffer: ByteBuffer(string: "model exploded")))
        }
    }

    @Test func postSendsHeadersAndBodyAndReadsContentLengthAnswer() async throws {
        try await withTestServer(Self.routes) { base in
            let payload = Array("{\"x\": [1, 2, 3]}".utf8)
            let response = try await client.post(
                base + "/echo", headers: [("Content-Type", "application/json"), ("X-Tag", "t-42")], body: payload,
                timeout: .seconds(60))
            #expect(response.status == 200)
            #expect(response.isSuccess)
            #expect(response.body == payload)
            #expect(response.header("x-seen-tag") == "t-42")
            #expect(response.header("CONTENT-LENGTH") == String(payload.count))
        }
    }

    /// A server may answer and close its side while the body is still being sent: the answer is what counts.
    @Test func earlyAnswerBeforeTheBodyIsReadIsReturned() async throws {
        try await withTestServer(Self.routes) { base in
            let payload = [UInt8](repeating: 0x31, count: 4 << 20)
            for _ in 0..<5 {
                let response = try await client.post(base + "/refuse", body: payload, timeout: .seconds(60))
                #expect(response.status == 401 && response.text == "no key")
            }
        }
    }

    @Test func largeBodyRoundTrips() async throws {
        try await withTestServer(Self.routes) { base in
            let payload = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
            let response = try await client.post(base + "/echo", body: payload, timeout: .seconds(60))
            #expect(response.body == payload)
        }
    }

    @Test func chunkedAnswerIsReassembled() async throws {
        try await withTestServer(Self.routes) { base in
            let response = try await client.get(base + "/chunked", timeout: .seconds(60))
            #expect(response.status == 200)
            #expect(response.header("transfer-encoding") == "chunked")
            #expect(response.text == "alpha-beta-gamma")
        }
    }

    @Test func errorStatusIsAnAnswerNotAThrow() async throws {
        try await withTestServer(Self.routes) { base in
            let response = try await client.post(base + "/fail", body: [], timeout: .seconds(60))
            #expect(response.status == 500)
            #expect(!response.isSuccess)
            #expect(response.text == "model exploded")
        }
    }

    @Test func slowServerHitsTheTotalTimeout() async throws {
        try await withTestServer(Self.routes) { base in
            let error = await #expect(throws: HTTPClientError.self) {
                try await client.get(base + "/slow", timeout: .milliseconds(200))
            }
            #expect(error?.kind == .timeout)
            #expect(error?.description.contains("within") == true)
        }
    }

    @Test func refusedConnectionNamesHostAndPort() async throws {
        // A socket bound but not listening holds its port, so no other test's server can take it, and a
        // connection to it is refused.
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #expect(socket >= 0)
        defer { close(socket) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(socket, $0, length) == 0 && getsockname(socket, $0, &length) == 0
            }
        }
        #expect(bound)
        let port = Int(UInt16(bigEndian: address.sin_port))
        let error = await #expect(throws: HTTPClientError.self) {
            try await client.get("http://127.0.0.1:\(port)/x", timeout: .seconds(60))
        }
        #expect(error?.kind == .connectionFailed)
        #expect(error?.description.contains("127.0.0.1:\(port)") == true)
        #expect(error?.description.contains("refused") == true)
    }

    @Test(arguments: [
        ("https://:443/x", "no host"),
        ("ftp://example.com/", "http://host:port/path"),
        ("http://:80/", "no host"),
        ("http://localhost:99999/", "'99999'"),
    ])
    func badAddressesAreRejectedBeforeConnecting(url: String, expected: String) async throws {
        let error = await #expect(throws: HTTPClientError.self) {
            try await client.get(url, timeout: .seconds(1))
        }
        #expect(error?.kind == .invalidURL)
        #expect(error?.description.contains(expected) == true)
    }

    /// Cancelling the calling task while the server holds the request ends the exchange with `.cancelled`. The
    /// task is cancelled once the server has the request (not after a fixed pause), and the request's own deadline
    /// is an hour away, so only the cancellation can end it, however long a busy machine takes to get there.
    @Test func cancellingTheTaskEndsTheExchange() async throws {
        let (arrivals, arrived) = AsyncStream.makeStream(of: Void.self)
        let held = { (router: Router<BasicRequestContext>) -> Void in
            router.get("/held") { _, _ -> Response in
                arrived.yield()
                try await Task.sleep(for: .seconds(3600))
                return Response(status: .ok)
            }
        }
        try await withTestServer(held) { base in
            let task = Task { try await client.get(base + "/held", timeout: .seconds(3600)) }
            var iterator = arrivals.makeAsyncIterator()
            await iterator.next()
            task.cancel()
            let result = await task.result
            guard case .failure(let error as HTTPClientError) = result else {
                Issue.record("expected a cancelled request, got \(result)")
                return
            }
            #expect(error.kind == .cancelled)
        }
    }
}
