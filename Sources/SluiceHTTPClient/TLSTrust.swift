import NIOConcurrencyHelpers
import NIOCore
import NIOSSL

/// Which certificate authorities a client trusts for `https://` servers: the system's, only those in a PEM file
/// (a private CA, as `AWS_CA_BUNDLE` names one), or the system's and a file's (`system(adding:)`). Server names are
/// checked against the certificate either way.
public struct TLSTrust: Sendable, Hashable {
    /// A PEM file of the authorities to trust instead of the system's (or besides them, see `addsToSystem`);
    /// `nil` for the system's alone.
    public var caBundlePath: String?
    /// Whether the bundle's authorities are trusted besides the system's rather than instead of them.
    public private(set) var addsToSystem = false

    /// The system's authorities.
    public static let system = TLSTrust(caBundlePath: nil)

    public init(caBundlePath: String?) { self.caBundlePath = caBundlePath }

    /// The system's authorities and, when `caBundlePath` names a PEM file, those in it too.
    public static func system(adding caBundlePath: String?) -> TLSTrust {
        var trust = TLSTrust(caBundlePath: caBundlePath)
        trust.addsToSystem = caBundlePath != nil
        return trust
    }

    /// Reads the bundle now, so a bad file is reported before any connection.
    /// - Throws: `TLSTrustError` naming the file and what is wrong with it.
    public func validate() throws(TLSTrustError) { _ = try context() }

    /// One client context per trust for the whole process: a bundle is read once, not per connection.
    private static let contexts = NIOLockedValueBox<[TLSTrust: NIOSSLContext]>([:])

    func context() throws(TLSTrustError) -> NIOSSLContext {
        if let known = Self.contexts.withLockedValue({ $0[self] }) { return known }
        var configuration = TLSConfiguration.makeClientConfiguration()
        if let caBundlePath {
            let certificates: [NIOSSLCertificate]
            do {
                certificates = try NIOSSLCertificate.fromPEMFile(caBundlePath)
            } catch {
                throw TLSTrustError(
                    path: caBundlePath,
                    detail: "cannot read PEM certificates from it (\(error))")
            }
            guard !certificates.isEmpty else {
                throw TLSTrustError(
                    path: caBundlePath, detail: "it holds no PEM certificate (-----BEGIN CERTIFICATE-----)")
            }
            if addsToSystem {
                configuration.additionalTrustRoots = [.certificates(certificates)]
            } else {
                configuration.trustRoots = .certificates(certificates)
            }
        }
        let context: NIOSSLContext
        do {
            context = try NIOSSLContext(configuration: configuration)
        } catch {
            throw TLSTrustError(path: caBundlePath ?? "the system's certificate authorities", detail: "\(error)")
        }
        return Self.contexts.withLockedValue { contexts in
            if let known = contexts[self] { return known }
            contexts[self] = context
            return context
        }
    }

    /// Adds the TLS client handler for `host` to a new connection's pipeline. The name goes in SNI and is checked
    /// against the certificate; an IP address cannot go in SNI, and is checked against the certificate's IP entries.
    func addHandler(to channel: any Channel, host: String) throws {
        let isAddress = (try? SocketAddress(ipAddress: host, port: 0)) != nil
        let handler = try NIOSSLClientHandler(context: try context(), serverHostname: isAddress ? nil : host)
        try channel.pipeline.syncOperations.addHandler(handler)
    }

    /// A readable account of a TLS failure (`nil` for other errors); `untrusted` says whether the server's
    /// certificate was signed by an authority this trust does not include.
    static func describe(_ error: any Error) -> (text: String, untrusted: Bool)? {
        if let extra = error as? NIOSSLExtraError, extra == .failedToValidateHostname {
            return ("the TLS handshake failed: the server's certificate is not issued for this host name", false)
        }
        guard let error = error as? NIOSSLError else { return nil }
        guard case .handshakeFailed(let reason) = error else { return ("TLS failed (\(error))", false) }
        let text = "\(reason)"
        guard text.contains("CERTIFICATE_VERIFY_FAILED") else { return ("the TLS handshake failed (\(text))", false) }
        return (
            "the TLS handshake failed: the server's certificate is not signed by a certificate authority this client "
                + "trusts", true
        )
    }
}

/// A certificate bundle that cannot be used, naming the file.
public struct TLSTrustError: Error, Sendable, CustomStringConvertible {
    /// The bundle's path.
    public var path: String
    /// What is wrong with it.
    public var detail: String
    public var description: String { "\(path): \(detail)" }
}
