import Foundation
import SluiceServer
import SluiceServing
import Testing

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A raw TCP client that can send a request slowly.
struct RawConnection {
    let socket: Int32

    init(port: Int) throws {
        socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else { throw POSIXError(.ECONNREFUSED) }
    }

    func write(_ text: String) {
        _ = Array(text.utf8).withUnsafeBytes { send(socket, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    /// Reads until a whole error response, the peer's close, or 60 s.
    func readResponse() async throws -> String {
        try await read { $0.contains("\r\n\r\n") && $0.hasSuffix("}") }.text
    }

    /// Reads until `done` holds for the text so far, the peer closes (`closed`), or 60 s; polls without blocking a
    /// thread of the cooperative pool (the server under test needs them).
    func read(until done: (String) -> Bool) async throws -> (text: String, closed: Bool) {
        var received: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            let count = chunk.withUnsafeMutableBytes { recv(socket, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
            if count == 0 { return (String(decoding: received, as: UTF8.self), true) }
            if count < 0 {
                guard errno == EAGAIN || errno == EWOULDBLOCK else {
                    return (String(decoding: received, as: UTF8.self), true)
                }
                try await Task.sleep(for: .milliseconds(10))
                continue
            }
            received += chunk[0..<count]
            if done(String(decoding: received, as: UTF8.self)) { break }
        }
        return (String(decoding: received, as: UTF8.self), false)
    }

    /// Reads with blocking calls until `done` holds for the text so far, the peer closes, or 10 s without data.
    func readBlocking(until done: (String) -> Bool) -> String {
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var received: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = chunk.withUnsafeMutableBytes { recv(socket, $0.baseAddress, $0.count, 0) }
            if count <= 0 { break }
            received += chunk[0..<count]
            if done(String(decoding: received, as: UTF8.self)) { break }
        }
        return String(decoding: received, as: UTF8.self)
    }

    func close() { _ = Glibc.close(socket) }
}

@Suite struct SlowClientTests {
    /// A client trickling its body past the request timeout gets 408 while others are served normally.
    @Test func slowBodyIsAnswered408AndOthersAreServed() async throws {
        let (service, key, _) = makeService()
        let configuration = SluiceServer.Configuration(
            host: "127.0.0.1", port: 0, idleTimeout: .seconds(120), requestTimeout: .milliseconds(300)
        )
        try await withLiveServer(service, configuration: configuration) { base in
            let port = try #require(base.port)
            let slow = try RawConnection(port: port)
            defer { slow.close() }
            let body = "{\"x\": [[1, 2]]}"
            slow.write(
                "POST /production/stream HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                    + "x-api-key: \(key)\r\nContent-Length: \(body.utf8.count)\r\n\r\n"
            )
            slow.write(String(body.prefix(6)))
            // Good traffic is served while the slow body is pending past the 300 ms timeout.
            for _ in 0..<10 {
                let good = try await send(
                    base, "/production/stream", body: Data("[[1,2]]".utf8),
                    headers: ["Content-Type": "application/json", "x-api-key": key]
                )
                #expect(good.status == 200 && good.body == "0.5")
                try await Task.sleep(for: .milliseconds(40))
            }
            slow.write(String(body.dropFirst(6).prefix(2)))  // a late chunk: the body is overdue
            let response = try await slow.readResponse()
            #expect(response.hasPrefix("HTTP/1.1 408"), "\(response)")
            #expect(response.contains("RequestTimeout"))
        }
    }

    /// A client that stops sending halfway through its body is answered 408 at the request timeout, not left to the
    /// idle timeout (120 s here) without an answer.
    @Test func silentBodyIsAnswered408() async throws {
        let (service, key, _) = makeService()
        let configuration = SluiceServer.Configuration(
            host: "127.0.0.1", port: 0, idleTimeout: .seconds(120), requestTimeout: .milliseconds(300)
        )
        try await withLiveServer(service, configuration: configuration) { base in
            let silent = try RawConnection(port: try #require(base.port))
            defer { silent.close() }
            let body = "{\"x\": [[1, 2]]}"
            silent.write(
                "POST /production/stream HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                    + "x-api-key: \(key)\r\nContent-Length: \(body.utf8.count)\r\n\r\n" + String(body.prefix(6))
            )
            let response = try await silent.readResponse()
            #expect(response.hasPrefix("HTTP/1.1 408"), "\(response)")
            #expect(response.contains("RequestTimeout"))
        }
    }
}
