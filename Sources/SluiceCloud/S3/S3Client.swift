import Crypto
public import Foundation
import NIOCore
import NIOHTTP1
public import SluiceCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// An S3 API client: GetObject streamed to a file, PutObject (multipart above a threshold), ListObjectsV2,
/// HeadObject, DeleteObject; path-style addressing (`http://endpoint/bucket/key`), requests signed with SigV4.
public struct S3Client: ObjectStore {
    public let configuration: AWSConfiguration
    /// Files larger than this are uploaded in parts.
    public var multipartThreshold: Int
    /// The size of each part of a multipart upload (S3 needs at least 5 MiB for all but the last).
    public var partSize: Int
    /// How many parts are sent at once.
    public var concurrentParts: Int
    let endpoint: StreamingHTTPClient.Endpoint
    let signer: AWSSigner?
    let now: @Sendable () -> Date
    let http = StreamingHTTPClient()

    public var location: String { endpoint.url }

    /// A client for the S3 endpoint of `configuration` (`AWS_ENDPOINT_URL_S3`, `AWS_ENDPOINT_URL`, else AWS's).
    /// - Parameters:
    ///   - configuration: credentials (requests are unsigned without them), region and endpoints.
    ///   - multipartThreshold: files above this many bytes go up in parts (8 MiB by default, as the AWS CLI's).
    ///   - partSize: bytes per part (8 MiB by default, as the AWS CLI's).
    ///   - concurrentParts: parts sent at once (8 by default).
    ///   - now: the signing clock.
    public init(
        configuration: AWSConfiguration, multipartThreshold: Int = 8 << 20, partSize: Int = 8 << 20,
        concurrentParts: Int = 8, now: @escaping @Sendable () -> Date = { Date() }
    ) throws(S3Error) {
        self.configuration = configuration
        self.multipartThreshold = multipartThreshold
        self.partSize = max(partSize, 5 << 20)
        self.concurrentParts = max(concurrentParts, 1)
        self.now = now
        let address = configuration.endpoint(for: "S3", hostPrefix: "s3")
        do {
            endpoint = try StreamingHTTPClient.Endpoint(parsing: address, trust: configuration.tlsTrust)
        } catch {
            throw S3Error(
                .unsupportedEndpoint, subject: address, operation: "connect",
                detail: error.detail + (error.kind == .unsupported ? " (set AWS_ENDPOINT_URL_S3)" : ""))
        }
        signer = configuration.signer(service: "s3")
    }

    // MARK: Buckets

    /// Creates `bucket` in the configured region unless it exists (HeadBucket answers).
    /// - Returns: whether it was created.
    public func createBucketIfAbsent(_ bucket: String) async throws -> Bool {
        let uri = ObjectURI(bucket: bucket, key: "")
        do {
            _ = try await send("HEAD", uri, operation: "HeadBucket")
            return false
        } catch let error as S3Error where error.status == 404 {
            // Absent: created below.
        }
        // us-east-1 is the default location; any other is named in the body.
        let body =
            configuration.region == "us-east-1"
            ? nil
            : HashedBody(
                ByteBuffer(
                    string:
                        "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><LocationConstraint>"
                        + configuration.region + "</LocationConstraint></CreateBucketConfiguration>"))
        _ = try await send("PUT", uri, body: body, operation: "CreateBucket")
        return true
    }

    // MARK: Objects

    public func download(_ uri: ObjectURI, to path: String) async throws -> ArtifactReference {
        let writer = try AtomicFileWriter(path: path, subject: uri.description)
        var hasher = Crypto.SHA256()
        _ = try await send("GET", uri, operation: "GetObject") { chunk in
            try writer.append(chunk)
            chunk.withUnsafeReadableBytes { hasher.update(bufferPointer: $0) }
        }
        try writer.commit()
        return ArtifactReference(
            hash: "sha256:" + Hex.encode(hasher.finalize()), kind: .file, size: writer.size)
    }

    public func upload(file path: String, to uri: ObjectURI) async throws {
        let file = try LocalFile(path: path)
        if file.size <= multipartThreshold {
            var bytes = ByteBuffer()
            try file.read(offset: 0, count: file.size, into: &bytes)
            let body = HashedBody(bytes)
            _ = try await send(
                "PUT", uri, body: body, headers: Self.checksumHeaders(body.crc32), operation: "PutObject")
            return
        }
        try await uploadInParts(file, to: uri)
    }

    public func head(_ uri: ObjectURI) async throws -> ObjectSummary? {
        do {
            let head = try await send("HEAD", uri, operation: "HeadObject")
            let size = head.headers.first(name: "content-length").flatMap(Int.init) ?? 0
            return ObjectSummary(
                uri: uri, size: size, lastModified: head.headers.first(name: "last-modified"),
                etag: head.headers.first(name: "etag").map(ListPage.unquoted))
        } catch let error as S3Error where error.code == .noSuchKey {
            return nil
        } catch let error as S3Error where error.serviceCode == nil && error.status != nil {
            throw await withServiceCode(error, uri)
        }
    }

    /// A HEAD answer has no body, so a refused HEAD does not say why (a wrong secret or a missing permission): a
    /// one-key listing of the same bucket, refused the same way, carries the store's code in its body.
    private func withServiceCode(_ error: S3Error, _ uri: ObjectURI) async -> S3Error {
        do {
            _ = try await send(
                "GET", ObjectURI(bucket: uri.bucket, key: ""),
                query: [
                    (name: "list-type", value: "2"), (name: "max-keys", value: "1"), (name: "prefix", value: uri.key),
                ],
                operation: error.operation, subject: uri)
        } catch let probe as S3Error where probe.status == error.status && probe.serviceCode != nil {
            return probe
        } catch {}
        return error
    }

    public func delete(_ uri: ObjectURI) async throws {
        _ = try await send("DELETE", uri, operation: "DeleteObject")
    }

    public func list(_ uri: ObjectURI) async throws -> [ObjectSummary] {
        var objects: [ObjectSummary] = []
        var token: String?
        let bucket = ObjectURI(bucket: uri.bucket, key: "")
        repeat {
            var query = [(name: "list-type", value: "2"), (name: "prefix", value: uri.key)]
            if let token { query.append((name: "continuation-token", value: token)) }
            var body: [UInt8] = []
            _ = try await send("GET", bucket, query: query, operation: "ListObjectsV2", subject: uri) { chunk in
                body += chunk.readableBytesView
            }
            let page = ListPage(xml: String(decoding: body, as: UTF8.self))
            objects += page.objects.map {
                ObjectSummary(
                    uri: ObjectURI(bucket: uri.bucket, key: $0.key), size: $0.size, lastModified: $0.modified,
                    etag: $0.etag)
            }
            token = page.isTruncated ? page.nextToken : nil
        } while token != nil
        return objects.sorted { $0.uri.key < $1.uri.key }
    }

    // MARK: Requests

    /// Sends one signed request; a 2xx answer's body goes to `onBody`, any other answer becomes an `S3Error`.
    func send(
        _ method: String, _ uri: ObjectURI, query: [(name: String, value: String)] = [], body: HashedBody? = nil,
        headers: [(name: String, value: String)] = [], operation: String, subject: ObjectURI? = nil,
        onBody: (ByteBuffer) throws -> Void = { _ in }
    ) async throws -> HTTPResponseHead {
        let subject = subject ?? uri
        var path = endpoint.basePath + "/" + uri.bucket
        if !uri.key.isEmpty { path += "/" + uri.key }
        let payloadHash = body?.sha256 ?? AWSSigner.emptyPayloadHash
        var request = AWSRequest(
            method: method, path: path, query: query,
            headers: [("Host", endpoint.authority), ("x-amz-content-sha256", payloadHash)] + headers)
        if let signer { request = signer.sign(request, payloadHash: payloadHash, date: now()) }
        var head = HTTPRequestHead(version: .http1_1, method: HTTPMethod(rawValue: method), uri: request.target)
        for field in request.headers { head.headers.add(name: field.name, value: field.value) }
        if body != nil || method == "PUT" || method == "POST" {
            head.headers.add(name: "Content-Length", value: String(body?.bytes.readableBytes ?? 0))
        }
        var failureBody: [UInt8] = []
        let response: HTTPResponseHead
        do {
            response = try await http.exchange(endpoint, head: head, body: body?.bytes) { head, chunk in
                if (200..<300).contains(head.status.code) {
                    try onBody(chunk)
                } else if failureBody.count < 1 << 16 {
                    failureBody += chunk.readableBytesView
                }
            }
        } catch {
            if let underlying = error.underlying { throw underlying }
            let code: S3Error.Code = error.kind == .unreachable ? .unreachable : .other
            let fix =
                code == .unreachable
                ? "; start the store or fix AWS_ENDPOINT_URL_S3/AWS_ENDPOINT_URL (now \(endpoint.url))" : ""
            throw S3Error(code, subject: subject.description, operation: operation, detail: error.detail + fix)
        }
        guard (200..<300).contains(response.status.code) else {
            let text = String(decoding: failureBody, as: UTF8.self)
            throw S3Error.answer(
                status: Int(response.status.code), serviceCode: XMLText.first("Code", in: text),
                message: XMLText.first("Message", in: text), uri: subject, operation: operation, location: location,
                credentialsSource: signer == nil ? nil : configuration.credentialsSource)
        }
        return response
    }
}

/// One page of a ListObjectsV2 answer.
struct ListPage {
    var objects: [(key: String, size: Int, modified: String?, etag: String?)] = []
    var isTruncated = false
    var nextToken: String?

    init(xml: String) {
        isTruncated = XMLText.first("IsTruncated", in: xml) == "true"
        nextToken = XMLText.first("NextContinuationToken", in: xml)
        for entry in XMLText.all("Contents", in: xml) {
            guard let key = XMLText.first("Key", in: entry) else { continue }
            objects.append(
                (
                    key, Int(XMLText.first("Size", in: entry) ?? "") ?? 0, XMLText.first("LastModified", in: entry),
                    XMLText.first("ETag", in: entry).map(Self.unquoted)
                ))
        }
    }

    /// An ETag without the quotes S3 puts around it.
    static func unquoted(_ etag: String) -> String {
        etag.trimmingCharacters(in: CharacterSet(charactersIn: "\""))
    }
}

/// Just enough XML for S3's answers: the text of simple elements, entities decoded.
enum XMLText {
    /// The text of the first `<name>…</name>`.
    static func first(_ name: String, in xml: String) -> String? { all(name, in: xml).first.map(unescape) }

    /// The raw content of every `<name>…</name>`, in order.
    static func all(_ name: String, in xml: String) -> [String] {
        var results: [String] = []
        var rest = xml[...]
        while let open = rest.range(of: "<\(name)>"), let close = rest[open.upperBound...].range(of: "</\(name)>") {
            results.append(String(rest[open.upperBound..<close.lowerBound]))
            rest = rest[close.upperBound...]
        }
        return results
    }

    static func unescape(_ text: String) -> String {
        guard text.contains("&") else { return text }
        return text.replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">")
            .replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&apos;", with: "'")
            .replacingOccurrences(of: "&#13;", with: "\r").replacingOccurrences(of: "&amp;", with: "&")
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}

/// A local file read in ranges (`pread`, so concurrent parts share one descriptor).
final class LocalFile: Sendable {
    let path: String
    let size: Int
    private let descriptor: Int32

    init(path: String) throws(S3Error) {
        self.path = path
        descriptor = open(path, O_RDONLY | O_CLOEXEC)
        var info = stat()
        guard descriptor >= 0, fstat(descriptor, &info) == 0 else {
            throw S3Error(
                .localFile, subject: path, operation: "read",
                detail: "cannot open the file: \(String(cString: strerror(errno)))")
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            close(descriptor)
            throw S3Error(.localFile, subject: path, operation: "read", detail: "not a regular file")
        }
        size = Int(info.st_size)
    }

    deinit { close(descriptor) }

    /// Reads the whole file in order, `chunkSize` bytes at a time, into one buffer reused for every chunk.
    func forEachChunk(of chunkSize: Int = 1 << 20, _ body: (ByteBuffer) throws -> Void) throws {
        var chunk = ByteBuffer()
        var offset = 0
        while offset < size {
            chunk.clear()
            try read(offset: offset, count: min(chunkSize, size - offset), into: &chunk)
            try body(chunk)
            offset += chunk.readableBytes
        }
    }

    /// Appends `count` bytes from `offset` to `buffer`.
    func read(offset: Int, count: Int, into buffer: inout ByteBuffer) throws(S3Error) {
        let failure: Int32? =
            buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: count) { raw in
                var done = 0
                while done < count {
                    let got = pread(descriptor, raw.baseAddress! + done, count - done, off_t(offset + done))
                    if got < 0, errno == EINTR { continue }
                    if got <= 0 { return done }
                    done += got
                }
                return done
            } == count ? nil : errno
        if let failure {
            throw S3Error(
                .localFile, subject: path, operation: "read",
                detail: "reading failed (the file changed while it was read?): \(String(cString: strerror(failure)))")
        }
    }
}
