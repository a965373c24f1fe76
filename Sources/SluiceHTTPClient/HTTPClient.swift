import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
public import SluiceCore

/// A small async HTTP/1.1 client over SwiftNIO: one connection per request, `http://` or `https://` (the server's
/// certificate checked against `trust` and the address's host).
public struct HTTPClient: Sendable {
    /// One request to send.
    public struct Request: Sendable {
        /// The method, e.g. `GET` or `POST`.
        public var method: String
        /// The target, e.g. `http://127.0.0.1:8080/invoke?x=1`.
        public var url: String
        /// Header fields sent as given; `Host`, `Content-Length` and `Connection` are added when absent.
        public var headers: [(name: String, value: String)]
        /// The body bytes (empty for none).
        public var body: [UInt8]

        /// A request with the given method, target, headers and body.
        public init(method: String, url: String, headers: [(name: String, value: String)] = [], body: [UInt8] = []) {
            self.method = method
            self.url = url
            self.headers = headers
            self.body = body
        }
    }

    /// The answer to one request.
    public struct Response: Sendable {
        /// The status code, e.g. 200.
        public var status: Int
        /// The reason phrase, e.g. `OK`.
        public var reason: String
        /// Header fields in the order received.
        public var headers: [(name: String, value: String)]
        /// The whole body (chunked transfer encoding already decoded).
        public var body: [UInt8]

        /// The first value of header `name` (case-insensitive).
        public func header(_ name: String) -> String? {
            let lowered = name.lowercased()
            return headers.first { $0.name.lowercased() == lowered }?.value
        }

        /// The body decoded as UTF-8.
        public var text: String { String(decoding: body, as: UTF8.self) }

        /// Whether the status is in 200…299.
        public var isSuccess: Bool { (200..<300).contains(status) }
    }

    let group: any EventLoopGroup
    /// Responses larger than this fail with `HTTPClientError.Kind.responseTooLarge`.
    public var maximumResponseBytes: Int
    /// The certificate authorities `https://` servers are checked against.
    public var trust: TLSTrust

    /// A client on the shared NIO event loops.
    public init(
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        maximumResponseBytes: Int = 64 << 20, trust: TLSTrust = .system
    ) {
        self.group = eventLoopGroup
        self.maximumResponseBytes = maximumResponseBytes
        self.trust = trust
    }

    /// Sends a `GET`.
    public func get(_ url: String, headers: [(name: String, value: String)] = [], timeout: Duration)
        async throws(HTTPClientError) -> Response
    {
        try await send(Request(method: "GET", url: url, headers: headers), timeout: timeout)
    }

    /// Sends a `POST` with `body`.
    public func post(
        _ url: String, headers: [(name: String, value: String)] = [], body: [UInt8], timeout: Duration
    ) async throws(HTTPClientError) -> Response {
        try await send(Request(method: "POST", url: url, headers: headers, body: body), timeout: timeout)
    }

    /// Sends `request` and reads the whole response; `timeout` bounds everything from connecting to the last byte.
    /// Cancelling the calling task closes the connection.
    public func send(_ request: Request, timeout: Duration) async throws(HTTPClientError) -> Response {
        let target = try HTTPTarget(parsing: request.url)
        let deadline = NIODeadline.now() + TimeAmount(timeout)
        let failure = { (kind: HTTPClientError.Kind, detail: String) in
            HTTPClientError(kind: kind, method: request.method, url: request.url, detail: detail)
        }
        let channel: HTTP1Exchange.Channel
        do {
            channel = try await HTTP1Exchange.connect(
                host: target.host, port: target.port, tls: target.usesTLS ? trust : nil, group: group,
                timeout: TimeAmount(timeout))
        } catch {
            // Only NIO's connect timeout is a timeout: a refusal noticed late (a busy machine resuming this task
            // after the deadline) is still a refusal.
            if case ChannelError.connectTimeout = error {
                throw failure(.timeout, "no connection to \(target.authority) within \(timeout)")
            }
            throw failure(
                .connectionFailed, "cannot connect to \(target.authority): \(HTTP1Exchange.describe(error))")
        }

        // The deadline closes the connection, which ends the exchange below.
        let timedOut = NIOLockedValueBox(false)
        let underlying = channel.channel
        let timer = underlying.eventLoop.scheduleTask(deadline: deadline) {
            timedOut.withLockedValue { $0 = true }
            underlying.close(promise: nil)
        }
        defer { timer.cancel() }
        // What ended the exchange early, when the connection did not: the deadline or the caller.
        let interruption = { () -> HTTPClientError? in
            if timedOut.withLockedValue({ $0 }) {
                return failure(.timeout, "no complete response from \(target.authority) within \(timeout)")
            }
            return Task.isCancelled ? failure(.cancelled, "the request was cancelled") : nil
        }

        var head = HTTPRequestHead(version: .http1_1, method: HTTPMethod(rawValue: request.method), uri: target.path)
        for field in request.headers { head.headers.add(name: field.name, value: field.value) }
        if !head.headers.contains(name: "host") { head.headers.add(name: "Host", value: target.authority) }
        if !head.headers.contains(name: "connection") { head.headers.add(name: "Connection", value: "close") }
        if !head.headers.contains(name: "content-length"), !request.body.isEmpty || request.method != "GET" {
            head.headers.add(name: "Content-Length", value: String(request.body.count))
        }

        let limit = maximumResponseBytes
        let requestHead = head
        let requestBody = request.body.isEmpty ? nil : ByteBuffer(bytes: request.body)
        var body = ByteBuffer()
        let responseHead: HTTPResponseHead?
        do {
            responseHead = try await withTaskCancellationHandler {
                try await HTTP1Exchange.exchange(on: channel, head: requestHead, body: requestBody) { _, chunk in
                    if body.readableBytes + chunk.readableBytes > limit {
                        throw failure(.responseTooLarge, "the response exceeds \(limit) bytes")
                    }
                    body.writeImmutableBuffer(chunk)
                }
            } onCancel: {
                underlying.close(promise: nil)
            }
        } catch let error as HTTPClientError {
            throw error
        } catch  where HTTP1Exchange.isUntrustedCertificate(error) {
            throw failure(
                .untrustedCertificate,
                "the exchange with \(target.authority) failed: \(HTTP1Exchange.describe(error))"
                    + (trust.caBundlePath.map { " (nor by one in \($0))" } ?? ""))
        } catch {
            if let interrupted = interruption() { throw interrupted }
            throw failure(
                .connectionClosed,
                "the exchange with \(target.authority) failed: \(HTTP1Exchange.describe(error))")
        }
        guard let responseHead else {
            if let interrupted = interruption() { throw interrupted }
            throw failure(
                .connectionClosed, "\(target.authority) closed the connection before a complete response")
        }
        return Response(
            status: Int(responseHead.status.code), reason: responseHead.status.reasonPhrase,
            headers: responseHead.headers.map { (name: $0.name, value: $0.value) },
            body: body.readBytes(length: body.readableBytes) ?? [])
    }
}

/// Why an HTTP exchange failed, naming the request and the server.
public struct HTTPClientError: SluiceError, Sendable, Equatable {
    /// The class of failure.
    public enum Kind: String, Sendable {
        case invalidURL, connectionFailed, timeout, connectionClosed, responseTooLarge, cancelled
        /// An `https://` server whose certificate no trusted authority signed.
        case untrustedCertificate
    }

    /// The class of failure.
    public var kind: Kind
    /// The request's method.
    public var method: String
    /// The request's target.
    public var url: String
    /// What happened, naming host:port where one is involved.
    public var detail: String

    /// One line: the request, then what happened.
    public var description: String { "\(method) \(url): \(detail)" }
    public var code: String { kind.rawValue }
    public var message: String { description }
}

/// The parts of an `http://host[:port]/path` or `https://host[:port]/path` target.
public struct HTTPTarget: Equatable, Sendable {
    public var host: String
    public var port: Int
    public var path: String
    /// Whether the target is `https://`.
    public var usesTLS = false

    /// `host:port` as written in a `Host` header and in messages.
    public var authority: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    public init(host: String, port: Int, path: String) {
        self.host = host
        self.port = port
        self.path = path
    }

    /// Parses `url`, or names what is wrong with it.
    public init(parsing url: String) throws(HTTPClientError) {
        func invalid(_ detail: String) -> HTTPClientError {
            HTTPClientError(kind: .invalidURL, method: "", url: url, detail: detail)
        }
        let lowered = url.lowercased()
        let usesTLS = lowered.hasPrefix("https://")
        guard usesTLS || lowered.hasPrefix("http://") else {
            throw invalid("expected an address like http://host:port/path or https://host/path")
        }
        let rest = url.dropFirst(usesTLS ? "https://".count : "http://".count)
        let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? rest.endIndex
        var authority = rest[..<authorityEnd]
        var path = String(rest[authorityEnd...])
        if let fragment = path.firstIndex(of: "#") { path = String(path[..<fragment]) }
        if path.isEmpty || path.hasPrefix("?") { path = "/" + path }
        if let at = authority.lastIndex(of: "@") { authority = authority[authority.index(after: at)...] }
        var host: Substring
        var portText: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { throw invalid("unclosed [ in the host") }
            host = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if after.hasPrefix(":") {
                portText = after.dropFirst()
            } else if !after.isEmpty {
                throw invalid("unexpected text after the host")
            }
        } else if let colon = authority.lastIndex(of: ":") {
            host = authority[..<colon]
            portText = authority[authority.index(after: colon)...]
        } else {
            host = authority
        }
        guard !host.isEmpty else { throw invalid("the address has no host") }
        var port = usesTLS ? 443 : 80
        if let portText {
            guard let parsed = Int(portText), (1...65535).contains(parsed) else {
                throw invalid("the port '\(portText)' is not a number in 1…65535")
            }
            port = parsed
        }
        self.init(host: String(host), port: port, path: path)
        self.usesTLS = usesTLS
    }
}
