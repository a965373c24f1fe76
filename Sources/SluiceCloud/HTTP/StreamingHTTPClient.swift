import NIOCore
import NIOHTTP1
import NIOPosix
import SluiceHTTPClient

/// An HTTP/1.1 exchange whose response body is handed over chunk by chunk, so objects of any size stream to disk.
///
/// One connection per exchange, over `http://` or `https://` (TLS, the server's certificate checked against the
/// system's authorities or `AWS_CA_BUNDLE`'s).
struct StreamingHTTPClient: Sendable {
    /// The parts of an `http[s]://host[:port][/path]` endpoint.
    struct Endpoint: Hashable, Sendable {
        var host: String
        var port: Int
        /// The path every request is below (usually empty).
        var basePath: String
        /// For `https://`: whom to trust; `nil` for plain `http://`.
        var trust: TLSTrust?

        var scheme: String { trust == nil ? "http" : "https" }
        /// The host as written in a URL (an IPv6 address in brackets).
        var urlHost: String { host.contains(":") ? "[\(host)]" : host }
        /// `host[:port]` as written in a `Host` header (no port when it is the scheme's own).
        var authority: String { port == (trust == nil ? 80 : 443) ? urlHost : "\(urlHost):\(port)" }
        var url: String { "\(scheme)://\(urlHost):\(port)\(basePath)" }

        /// Parses `text` as `HTTPTarget` does; an `https://` endpoint trusts `trust`, whose bundle is read now.
        init(parsing text: String, trust: TLSTrust = .system) throws(HTTPExchangeError) {
            let target: HTTPTarget
            do {
                target = try HTTPTarget(parsing: text)
            } catch {
                throw HTTPExchangeError(kind: .unsupported, detail: "\(text): \(error.detail)")
            }
            if target.usesTLS {
                do {
                    try trust.validate()
                } catch {
                    throw HTTPExchangeError(
                        kind: .untrusted,
                        detail: "AWS_CA_BUNDLE (or the profile's ca_bundle) names \(error.description); set it to the "
                            + "PEM file of the certificate authority that signed \(text)'s certificate")
                }
                self.trust = trust
            }
            host = target.host
            port = target.port
            var path = target.path
            while path.hasSuffix("/") { path.removeLast() }
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
                host: endpoint.host, port: endpoint.port, tls: endpoint.trust, group: group, timeout: .seconds(10))
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
        } catch  where HTTP1Exchange.isUntrustedCertificate(error) {
            let fix =
                endpoint.trust?.caBundlePath.map {
                    "it is trusted only if signed by an authority in \($0) (AWS_CA_BUNDLE)"
                }
                ?? "if a private certificate authority signed it, set AWS_CA_BUNDLE to that authority's PEM file"
            throw HTTPExchangeError(
                kind: .untrusted,
                detail: "the exchange with \(endpoint.url) failed: \(HTTP1Exchange.describe(error)); \(fix)")
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
    enum Kind: Sendable { case unsupported, unreachable, untrusted, closed, consumer }
    var kind: Kind
    var detail: String
    /// The consumer's own error, when it stopped the exchange.
    var underlying: S3Error?
    var description: String { detail }
}
