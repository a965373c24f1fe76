public import NIOCore
public import NIOHTTP1
import NIOPosix

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// One HTTP/1.1 request and its answer over a connection of its own: the part every Sluice HTTP client shares
/// (`HTTPClient`, which collects the body, and the S3 and AWS clients, which stream it).
public enum HTTP1Exchange {
    /// A client connection with NIO's HTTP/1.1 handlers.
    public typealias Channel = NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>

    /// Connects to `host:port` (`TCP_NODELAY` on), giving up after `timeout`; with `tls`, the connection speaks TLS
    /// and the server's certificate is checked against that trust and `host`.
    public static func connect(
        host: String, port: Int, tls: TLSTrust? = nil,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        timeout: TimeAmount
    ) async throws -> Channel {
        try await ClientBootstrap(group: group)
            .connectTimeout(timeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connect(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try tls?.addHandler(to: channel, host: host)
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    return try Channel(wrappingChannelSynchronously: channel)
                }
            }
    }

    /// Sends `head` and `body` on `channel` and reads the answer, then closes the connection.
    ///
    /// The request is written while the answer is read: a server may answer (a 401, a 403, a 413) and close its side
    /// before it has read the whole body, and then its answer is the outcome. Interim (1xx) heads are skipped;
    /// `onBody` gets each chunk of the final answer's body, and what it throws ends the exchange.
    /// - Returns: the final answer's head once its end arrived, or nil when the connection closed before (a failed
    ///   write is thrown instead, as it says better what went wrong).
    public static func exchange(
        on channel: Channel, head: HTTPRequestHead, body: ByteBuffer?,
        onBody: (HTTPResponseHead, ByteBuffer) throws -> Void
    ) async throws -> HTTPResponseHead? {
        try await channel.executeThenClose { inbound, outbound in
            let writer = Task {
                try await outbound.write(.head(head))
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
            return nil
        }
    }

    /// A readable account of a connection error (the errno text, not a type dump).
    public static func describe(_ error: any Error) -> String {
        if let tls = TLSTrust.describe(error) { return tls.text }
        if let error = error as? NIOConnectionError {
            if let first = error.connectionErrors.first { return describe(first.error) }
            if let dns = error.dnsAAAAError ?? error.dnsAError { return "name resolution failed (\(dns))" }
        }
        if let error = error as? IOError {
            switch error.errnoCode {
            case ECONNREFUSED: return "connection refused (is the server running, and is the port right?)"
            case ECONNRESET: return "connection reset by peer"
            case ETIMEDOUT: return "timed out"
            default: return "\(error)"
            }
        }
        return "\(error)"
    }

    /// Whether `error` is a server certificate signed by an authority the connection's `TLSTrust` does not include
    /// (the fix is then to trust that authority, not to check the address).
    public static func isUntrustedCertificate(_ error: any Error) -> Bool {
        TLSTrust.describe(error)?.untrusted == true
    }
}
