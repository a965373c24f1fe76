import Crypto
public import Foundation
import SluiceCore

/// An access key pair, with the session token of temporary credentials.
@MemberwiseInit
public struct AWSCredentials: Hashable, Sendable {
    public var accessKeyID: String
    public var secretAccessKey: String
    /// The token of temporary (STS) credentials, sent as `X-Amz-Security-Token`.
    public var sessionToken: String?
}

/// A request as AWS Signature Version 4 sees it: decoded path and query, headers as sent.
@MemberwiseInit
public struct AWSRequest: Sendable {
    public var method: String
    /// The decoded path, e.g. `/bucket/a key.csv`; `AWSSigner.encodePath` gives the form sent on the wire.
    public var path: String
    /// Decoded query parameters in any order.
    public var query: [(name: String, value: String)] = []
    /// Header fields; every one of them is signed, so add only what is sent. `Host` must be present.
    public var headers: [(name: String, value: String)] = []

    /// The first value of header `name` (case-insensitive).
    public func header(_ name: String) -> String? {
        let lowered = name.lowercased()
        return headers.first { $0.name.lowercased() == lowered }?.value
    }

    /// The path and query as written in the request line (`/bucket/a%20key.csv?list-type=2`).
    public var target: String {
        let path = AWSSigner.encodePath(path)
        if query.isEmpty { return path }
        return path + "?" + AWSSigner.canonicalQuery(query)
    }
}

/// Signs requests with AWS Signature Version 4 (`AWS4-HMAC-SHA256`), as every AWS service and S3-compatible store
/// expects.
///
/// The signature covers the method, the path, the query, every header of the request and the payload's SHA-256
/// (or `UNSIGNED-PAYLOAD`, which S3 accepts, for bodies streamed without hashing first).
@MemberwiseInit
public struct AWSSigner: Sendable {
    public var credentials: AWSCredentials
    public var region: String
    /// The signing name of the service: `s3`, `states`, `sagemaker`, `iam`, …
    public var service: String

    /// The payload hash S3 accepts for a body that is not hashed before sending.
    public static let unsignedPayload = "UNSIGNED-PAYLOAD"
    /// The SHA-256 of an empty body.
    public static let emptyPayloadHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

    /// Returns `request` with `X-Amz-Date` (unless present), `X-Amz-Security-Token` (for temporary credentials) and
    /// `Authorization` added.
    /// - Parameters:
    ///   - request: the request, with every header that will be sent (including `Host`).
    ///   - payloadHash: the hex SHA-256 of the body (`payloadHash(_:)`), or `unsignedPayload`.
    ///   - date: the signing time; AWS rejects signatures more than 15 minutes off its clock.
    public func sign(_ request: AWSRequest, payloadHash: String, date: Date) -> AWSRequest {
        var signed = request
        let timestamp: String
        if let given = request.header("x-amz-date") {
            timestamp = given
        } else {
            timestamp = Self.timestamp(date)
            signed.headers.append(("X-Amz-Date", timestamp))
        }
        if let token = credentials.sessionToken, signed.header("x-amz-security-token") == nil {
            signed.headers.append(("X-Amz-Security-Token", token))
        }
        let (canonical, signedHeaders) = Self.canonicalRequest(signed, payloadHash: payloadHash)
        let scope = "\(timestamp.prefix(8))/\(region)/\(service)/aws4_request"
        let signature = self.signature(canonicalRequest: canonical, timestamp: timestamp, scope: scope)
        signed.headers.append(
            (
                "Authorization",
                "AWS4-HMAC-SHA256 Credential=\(credentials.accessKeyID)/\(scope), SignedHeaders=\(signedHeaders), "
                    + "Signature=\(signature)"
            ))
        return signed
    }

    /// The hex signature of a canonical request.
    func signature(canonicalRequest: String, timestamp: String, scope: String) -> String {
        let stringToSign = [
            "AWS4-HMAC-SHA256", timestamp, scope, Hex.encode(Crypto.SHA256.hash(data: Array(canonicalRequest.utf8))),
        ].joined(separator: "\n")
        var key = SymmetricKey(data: Array("AWS4\(credentials.secretAccessKey)".utf8))
        for part in [String(timestamp.prefix(8)), region, service, "aws4_request"] {
            key = SymmetricKey(data: Array(HMAC<Crypto.SHA256>.authenticationCode(for: Array(part.utf8), using: key)))
        }
        return Hex.encode(HMAC<Crypto.SHA256>.authenticationCode(for: Array(stringToSign.utf8), using: key))
    }

    /// The canonical request and the `SignedHeaders` list of a request.
    static func canonicalRequest(_ request: AWSRequest, payloadHash: String) -> (String, String) {
        var headers: [String: [String]] = [:]
        for field in request.headers {
            // Trim, and collapse runs of spaces, as the specification asks.
            let value = field.value.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
            headers[field.name.lowercased(), default: []].append(value)
        }
        let names = headers.keys.sorted()
        let canonicalHeaders = names.map { "\($0):\(headers[$0]!.joined(separator: ","))\n" }.joined()
        let signedHeaders = names.joined(separator: ";")
        let canonical = [
            request.method, encodePath(request.path), canonicalQuery(request.query), canonicalHeaders, signedHeaders,
            payloadHash,
        ].joined(separator: "\n")
        return (canonical, signedHeaders)
    }

    /// The query as signed and sent: names and values percent-encoded, sorted by name then value.
    public static func canonicalQuery(_ query: [(name: String, value: String)]) -> String {
        query.map { (uriEncode($0.name), uriEncode($0.value)) }
            .sorted { $0.0 != $1.0 ? $0.0 < $1.0 : $0.1 < $1.1 }
            .map { "\($0.0)=\($0.1)" }
            .joined(separator: "&")
    }

    /// A decoded path as signed and sent: each segment percent-encoded once (S3's rule), slashes kept.
    public static func encodePath(_ path: String) -> String {
        let encoded = path.split(separator: "/", omittingEmptySubsequences: false).map { uriEncode(String($0)) }
            .joined(separator: "/")
        return encoded.hasPrefix("/") ? encoded : "/" + encoded
    }

    /// Percent-encodes everything but the unreserved characters `A-Z a-z 0-9 - . _ ~`, with upper-case hex.
    public static func uriEncode(_ text: String) -> String {
        var result = ""
        result.reserveCapacity(text.utf8.count)
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
                UInt8(ascii: "~"):
                result.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                result +=
                    "%" + String(byte >> 4, radix: 16, uppercase: true) + String(byte & 15, radix: 16, uppercase: true)
            }
        }
        return result
    }

    /// The hex SHA-256 of a body, for `payloadHash`.
    public static func payloadHash(_ body: some DataProtocol) -> String { Hex.encode(Crypto.SHA256.hash(data: body)) }

    /// `yyyyMMdd'T'HHmmss'Z'` in UTC.
    public static func timestamp(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        func two(_ value: Int?) -> String { value.map { $0 < 10 ? "0\($0)" : "\($0)" } ?? "00" }
        return "\(parts.year ?? 1970)\(two(parts.month))\(two(parts.day))T\(two(parts.hour))\(two(parts.minute))"
            + "\(two(parts.second))Z"
    }
}
