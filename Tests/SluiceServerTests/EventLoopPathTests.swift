import Foundation
import SluiceServer
import SluiceServing
import SluiceTesting
import Testing

/// The serving routes are answered on the event loop when a request is small and keeps the connection alive, and
/// by the router otherwise; these tests hold both paths to the same answers and the connection's order and timeouts.
@Suite struct EventLoopPathTests {
    /// `POST` of a JSON body with Content-Length (event loop) or chunked (router).
    static func post(_ path: String, _ body: String, key: String?, chunked: Bool = false, close: Bool = false)
        -> String
    {
        var text = "POST \(path) HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        if let key { text += "x-api-key: \(key)\r\n" }
        if close { text += "Connection: close\r\n" }
        if chunked {
            let size = String(body.utf8.count, radix: 16)
            return text + "Transfer-Encoding: chunked\r\n\r\n\(size)\r\n\(body)\r\n0\r\n\r\n"
        }
        return text + "Content-Length: \(body.utf8.count)\r\n\r\n\(body)"
    }

    /// A batch large enough to be predicted off the event loop: 400 rows of `[1, 2]` (→ 0.5 each).
    static let largeBatch = #"{"x": ["# + Array(repeating: "[1, 2]", count: 400).joined(separator: ", ") + "]}"
    static let largeBatchAnswer = "[" + Array(repeating: "[0.5]", count: 400).joined(separator: ",") + "]"

    /// The responses in `text`, each as its status line, its headers but `Date` (lower-cased names), and its body.
    static func responses(_ text: String) -> [(status: String, headers: [String], body: String)] {
        var rest = Substring(text)
        var responses: [(String, [String], String)] = []
        while let end = rest.range(of: "\r\n\r\n") {
            let lines = rest[..<end.lowerBound].split(separator: "\r\n").map(String.init)
            let headers = lines.dropFirst().map { line -> String in
                let parts = line.split(separator: ":", maxSplits: 1)
                return parts[0].lowercased() + ":" + (parts.count > 1 ? String(parts[1]) : "")
            }
            let length =
                headers.first { $0.hasPrefix("content-length:") }
                .flatMap { Int($0.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) } ?? 0
            let bodyStart = end.upperBound
            guard let bodyEnd = rest.utf8.index(bodyStart, offsetBy: length, limitedBy: rest.utf8.endIndex) else {
                break
            }
            responses.append((lines[0], headers.filter { !$0.hasPrefix("date:") }, String(rest[bodyStart..<bodyEnd])))
            rest = rest[bodyEnd...]
        }
        return responses
    }

    /// Requests sent back to back on one connection are answered in order, whichever path answers each.
    @Test func pipelinedRequestsAreAnsweredInOrder() async throws {
        let (service, key, _) = makeService()
        try await withLiveServer(service) { base in
            let connection = try RawConnection(port: try #require(base.port))
            defer { connection.close() }
            connection.write(
                "GET /ping HTTP/1.1\r\nHost: x\r\n\r\n"
                    + Self.post("/production/stream", #"{"x": [[1.5, 0.25]]}"#, key: key)
                    + Self.post("/production/batch", Self.largeBatch, key: key)
                    + Self.post("/production/stream", #"{"x": [[1, 2]]}"#, key: key, chunked: true)
                    + Self.post("/stream", #"{"x": [[3, 1]]}"#, key: key)
                    + Self.post("/endpoints/w1/staging/batch", #"{"x": [[1, 2], [3, 1]]}"#, key: nil)
                    + "GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
            )
            let (text, _) = try await connection.read { Self.responses($0).count == 7 }
            let responses = Self.responses(text)
            let ok = "HTTP/1.1 200 OK"
            #expect(responses.map(\.status) == [ok, ok, ok, ok, ok, "HTTP/1.1 401 Unauthorized", ok], "\(text)")
            let bodies = responses.map(\.body)
            #expect(bodies.count == 7 && [bodies[0], bodies[1], bodies[3], bodies[4]] == ["", "3.25", "0.5", "5.5"])
            #expect(bodies.count == 7 && bodies[2] == Self.largeBatchAnswer)
        }
    }

    /// The same request answered on the event loop and by the router gets the same status, headers and body.
    @Test func bothPathsAnswerAlike() async throws {
        let (service, key, _) = makeService()
        try await withLiveServer(service) { base in
            let port = try #require(base.port)
            let cases: [(String, String, String?)] = [
                ("/production/stream", #"{"x": [[1.5, 0.25]]}"#, key),
                ("/endpoints/w1/staging/batch", #"{"x": [[1, 2], [3, 1]]}"#, key),
                ("/endpoints/w1/staging/batch", Self.largeBatch, key),
                ("/endpoints/w1/staging/batch", Self.largeBatch.replacingOccurrences(of: "[1, 2]]", with: "[1]]"), key),
                ("/endpoints/w1/invocations", #"[[1, 2]]"#, nil),
                ("/stream", #"{"x": [[1.5]]}"#, key),
                ("/stream", #"{"x": [[1.5, 2]]}"#, nil),
                ("/stream", #"{"x": [[1.5, 2]]}"#, "sk_wrong"),
                ("/endpoints/w1/qa/stream", #"{"x": [[1.5, 2]]}"#, key),
                ("/endpoints/nope/production/batch", #"{"x": [[1.5, 2]]}"#, key),
            ]
            for (path, body, presented) in cases {
                var answers: [(status: String, headers: [String], body: String)] = []
                for (chunked, close) in [(false, false), (true, false), (false, true)] {
                    let connection = try RawConnection(port: port)
                    defer { connection.close() }
                    connection.write(Self.post(path, body, key: presented, chunked: chunked, close: close))
                    let (text, _) = try await connection.read { Self.responses($0).count == 1 }
                    answers += Self.responses(text)
                }
                try #require(answers.count == 3, "\(path)")
                // Variant A or B is drawn per request on the production stage of w1; compare without it.
                func normalized(_ answer: (status: String, headers: [String], body: String)) -> String {
                    answer.status + "|"
                        + answer.headers.filter { !$0.hasPrefix("x-amzn-invoked-production-variant") }
                        .sorted().joined(separator: "|") + "|" + answer.body
                }
                #expect(Set(answers.map(normalized)).count == 1, "\(path): \(answers)")
                #expect(answers.allSatisfy { $0.headers.contains { $0.hasPrefix("content-length:") } })
            }
        }
    }

    /// A silent connection is closed after the idle timeout; one that keeps sending serving requests is not.
    @Test func idleConnectionsCloseAndBusyOnesStayOpen() async throws {
        let (service, key, _) = makeService()
        // The server has its own event loop and the busy client its own thread, so that other tests keeping
        // Swift's pool busy cannot delay the client's requests past the timeout; gaps are a fifth of it.
        let configuration = SluiceServer.Configuration(
            host: "127.0.0.1", port: 0, idleTimeout: .milliseconds(1500), eventLoopThreads: 1)
        try await withLiveServer(service, configuration: configuration) { base in
            let port = try #require(base.port)
            let idle = try RawConnection(port: port)
            defer { idle.close() }
            let busy = try RawConnection(port: port)
            defer { busy.close() }
            let request = Self.post("/production/stream", #"{"x": [[1, 2]]}"#, key: key)
            let answers = try await onOwnThread {
                (0..<8).map { _ -> String in
                    busy.write(request)
                    let answer = busy.readBlocking { Self.responses($0).count == 1 }
                    usleep(300_000)
                    return answer
                }
            }
            #expect(answers.map { Self.responses($0).first?.body } == Array(repeating: "0.5", count: 8), "\(answers)")
            let (_, closed) = try await idle.read { _ in false }
            #expect(closed)
        }
    }
}
