import NIOCore
import NIOHTTP1
import NIOPosix

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

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
        let channel: NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>
        do {
            channel = try await ClientBootstrap(group: group)
                .connectTimeout(.seconds(10))
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .connect(host: endpoint.host, port: endpoint.port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHTTPClientHandlers()
                        return try NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>(
                            wrappingChannelSynchronously: channel)
                    }
                }
        } catch {
            throw HTTPExchangeError(
                kind: .unreachable, detail: "cannot connect to \(endpoint.url): \(Self.describe(error))")
        }
        var head = head
        head.headers.replaceOrAdd(name: "Connection", value: "close")
        let requestHead = head
        do {
            return try await channel.executeThenClose { inbound, outbound in
                // The body is written while the answer is read: a server may answer early (403) and close.
                let writer = Task {
                    try await outbound.write(.head(requestHead))
                    if let body, body.readableBytes > 0 { try await outbound.write(.body(.byteBuffer(body))) }
                    try await outbound.write(.end(nil))
                }
                defer { writer.cancel() }
                var response: HTTPResponseHead?
                for try await part in inbound {
                    switch part {
                    case .head(let received):
                        if received.status.code >= 200 { response = received }
                    case .body(let chunk):
                        if let response { try onBody(response, chunk) }
                    case .end:
                        if let response { return response }
                    }
                }
                try await writer.value
                throw HTTPExchangeError(
                    kind: .closed, detail: "\(endpoint.url) closed the connection before a complete response")
            }
        } catch let error as HTTPExchangeError {
            throw error
        } catch let error as S3Error {
            throw HTTPExchangeError(kind: .consumer, detail: error.description, underlying: error)
        } catch {
            throw HTTPExchangeError(
                kind: .closed, detail: "the exchange with \(endpoint.url) failed: \(Self.describe(error))")
        }
    }

    /// A readable account of a connection error (the errno text, not a type dump).
    static func describe(_ error: any Error) -> String {
        if let error = error as? NIOConnectionError {
            if let first = error.connectionErrors.first { return describe(first.error) }
            if let dns = error.dnsAAAAError ?? error.dnsAError { return "name resolution failed (\(dns))" }
        }
        if let error = error as? IOError {
            switch error.errnoCode {
            case ECONNREFUSED: return "connection refused (is the server running, and is the port right?)"
            case ECONNRESET: return "connection reset by peer"
            default: return "\(error)"
            }
        }
        if case ChannelError.connectTimeout = error { return "no answer within 10 s" }
        return "\(error)"
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
