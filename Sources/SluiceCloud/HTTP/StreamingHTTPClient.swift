import NIOCore
import NIOHTTP1
import NIOPosix
import SluiceHTTPClient

/// An HTTP/1.1 exchange whose response body is handed over chunk by chunk, so objects of any size stream to disk.
///
/// One connection per exchange, plain `http://` only (S3-compatible endpoints on a network you trust, local
/// servers).
struct StreamingHTTPClient: Sendable {
    /// The parts of an `http://host[:port]` endpoint.
    struct Endpoint: Hashable, Sendable {
        var host: String
        var port: Int
        /// The path every request is below (usually empty).
        var basePath: String

        /// `host:port` as written in a `Host` header.
        var authority: String { port == 80 ? host : "\(host):\(port)" }
        var url: String { "http://\(host):\(port)\(basePath)" }

        init(parsing text: String) throws(HTTPExchangeError) {
            var rest = Substring(text)
            if rest.lowercased().hasPrefix("https://") {
                throw HTTPExchangeError(
                    kind: .unsupported,
                    detail: "\(text): https endpoints are not supported by Sluice's S3 client yet; use an http:// "
                        + "endpoint (an S3-compatible store on your network, or a local proxy)")
            }
            guard rest.lowercased().hasPrefix("http://") else {
                throw HTTPExchangeError(
                    kind: .unsupported, detail: "\(text): expected an endpoint like http://127.0.0.1:9000")
            }
            rest = rest.dropFirst("http://".count)
            let slash = rest.firstIndex(of: "/") ?? rest.endIndex
            let authority = rest[..<slash]
            var path = String(rest[slash...])
            while path.hasSuffix("/") { path.removeLast() }
            if let colon = authority.lastIndex(of: ":"), let port = Int(authority[authority.index(after: colon)...]) {
                host = String(authority[..<colon])
                self.port = port
            } else {
                host = String(authority)
                port = 80
            }
            guard !host.isEmpty else {
                throw HTTPExchangeError(kind: .unsupported, detail: "\(text): the endpoint has no host")
            }
            basePath = path
        }
    }

    let group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton

    /// Sends one request and streams the answer: `onBody` gets each chunk after the head arrived.
    /// - Returns: the response head.
    func exchange(
        _ endpoint: Endpoint, head: HTTPRequestHead, body: ByteBuffer?,
        onBody: (HTTPResponseHead, ByteBuffer) throws -> Void
    ) async throws(HTTPExchangeError) -> HTTPResponseHead {
        let channel: HTTP1Exchange.Channel
        do {
            channel = try await HTTP1Exchange.connect(
                host: endpoint.host, port: endpoint.port, group: group, timeout: .seconds(10))
        } catch {
            var reason = HTTP1Exchange.describe(error)
            if case ChannelError.connectTimeout = error { reason = "no answer within 10 s" }
            throw HTTPExchangeError(kind: .unreachable, detail: "cannot connect to \(endpoint.url): \(reason)")
        }
        var head = head
        head.headers.replaceOrAdd(name: "Connection", value: "close")
        let response: HTTPResponseHead?
        do {
            response = try await HTTP1Exchange.exchange(on: channel, head: head, body: body, onBody: onBody)
        } catch let error as S3Error {
            throw HTTPExchangeError(kind: .consumer, detail: error.description, underlying: error)
        } catch {
            throw HTTPExchangeError(
                kind: .closed, detail: "the exchange with \(endpoint.url) failed: \(HTTP1Exchange.describe(error))")
        }
        guard let response else {
            throw HTTPExchangeError(
                kind: .closed, detail: "\(endpoint.url) closed the connection before a complete response")
        }
        return response
    }
}

/// Why an exchange failed before an HTTP answer was complete.
struct HTTPExchangeError: Error, Sendable, CustomStringConvertible {
    enum Kind: Sendable { case unsupported, unreachable, closed, consumer }
    var kind: Kind
    var detail: String
    /// The consumer's own error, when it stopped the exchange.
    var underlying: S3Error?
    var description: String { detail }
}
