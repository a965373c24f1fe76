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
    ///   - multipartThreshold: files above this many bytes go up in parts (16 MiB by default).
    ///   - partSize: bytes per part (16 MiB by default).
    ///   - now: the signing clock.
    public init(
        configuration: AWSConfiguration, multipartThreshold: Int = 16 << 20, partSize: Int = 16 << 20,
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
            : ByteBuffer(
                string:
                    "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><LocationConstraint>"
                    + configuration.region + "</LocationConstraint></CreateBucketConfiguration>")
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
            let body = try file.read(offset: 0, count: file.size)
            _ = try await send(
                "PUT", uri, body: body, headers: Self.checksumHeaders(Self.crc32(body)), operation: "PutObject")
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

    // MARK: Multipart

    func uploadInParts(_ file: LocalFile, to uri: ObjectURI) async throws {
        var created: [UInt8] = []
        _ = try await send(
            "POST", uri, query: [("uploads", "")], headers: [("x-amz-checksum-algorithm", "CRC32")],
            operation: "CreateMultipartUpload"
        ) {
            created += $0.readableBytesView
        }
        guard let uploadID = XMLText.first("UploadId", in: String(decoding: created, as: UTF8.self)) else {
            throw S3Error(
                .other, subject: uri.description, operation: "CreateMultipartUpload",
                detail: "the answer has no UploadId")
        }
        do {
            let count = (file.size + partSize - 1) / partSize
            var parts = [String](repeating: "", count: count)
            try await withThrowingTaskGroup(of: (Int, String).self) { group in
                for index in 0..<count {
                    // At most `concurrentParts` parts (and their buffers) in flight.
                    if index >= concurrentParts, let (done, part) = try await group.next() { parts[done] = part }
                    group.addTask {
                        let offset = index * partSize
                        let body = try file.read(offset: offset, count: min(partSize, file.size - offset))
                        let checksum = Self.crc32(body)
                        let head = try await send(
                            "PUT", uri, query: [("partNumber", String(index + 1)), ("uploadId", uploadID)],
                            body: body, headers: Self.checksumHeaders(checksum), operation: "UploadPart")
                        let etag = XMLText.escape(head.headers.first(name: "etag") ?? "")
                        return (
                            index,
                            "<Part><PartNumber>\(index + 1)</PartNumber><ETag>\(etag)</ETag>"
                                + "<ChecksumCRC32>\(checksum)</ChecksumCRC32></Part>"
                        )
                    }
                }
                while let (done, part) = try await group.next() { parts[done] = part }
            }
            let xml = "<CompleteMultipartUpload>\(parts.joined())</CompleteMultipartUpload>"
            var answer: [UInt8] = []
            _ = try await send(
                "POST", uri, query: [("uploadId", uploadID)], body: ByteBuffer(string: xml),
                operation: "CompleteMultipartUpload"
            ) { answer += $0.readableBytesView }
            // S3 may report a failed completion inside a 200 answer.
            let text = String(decoding: answer, as: UTF8.self)
            if text.contains("<Error>") {
                throw S3Error(
                    .other, subject: uri.description, operation: "CompleteMultipartUpload",
                    detail: "the store could not assemble the parts: \(XMLText.first("Message", in: text) ?? text)",
                    serviceCode: XMLText.first("Code", in: text), status: 200)
            }
        } catch {
            // Abort so the store frees the parts; the original failure is what the user needs to see.
            _ = try? await send("DELETE", uri, query: [("uploadId", uploadID)], operation: "AbortMultipartUpload")
            throw error
        }
    }

    /// A body's CRC-32 in base64, as S3 takes it.
    static func crc32(_ body: ByteBuffer) -> String {
        CRC32.base64(body.withUnsafeReadableBytes { CRC32.checksum($0) })
    }

    /// Headers that ask S3 to check a body against its CRC-32 and refuse it when they differ, as the AWS SDKs send by
    /// default. A multipart upload created with a CRC32 algorithm also lets the store build the object's checksum
    /// from its parts' instead of reading the whole object again.
    static func checksumHeaders(_ crc32: String) -> [(name: String, value: String)] {
        [("x-amz-sdk-checksum-algorithm", "CRC32"), ("x-amz-checksum-crc32", crc32)]
    }

    // MARK: Requests

    /// Sends one signed request; a 2xx answer's body goes to `onBody`, any other answer becomes an `S3Error`.
    func send(
        _ method: String, _ uri: ObjectURI, query: [(name: String, value: String)] = [], body: ByteBuffer? = nil,
        headers: [(name: String, value: String)] = [], operation: String, subject: ObjectURI? = nil,
        onBody: (ByteBuffer) throws -> Void = { _ in }
    ) async throws -> HTTPResponseHead {
        let subject = subject ?? uri
        var path = endpoint.basePath + "/" + uri.bucket
        if !uri.key.isEmpty { path += "/" + uri.key }
        let payloadHash =
            body.map { buffer in
                buffer.withUnsafeReadableBytes { AWSSigner.payloadHash($0) }
            } ?? AWSSigner.emptyPayloadHash
        var request = AWSRequest(
            method: method, path: path, query: query,
            headers: [("Host", endpoint.authority), ("x-amz-content-sha256", payloadHash)] + headers)
        if let signer { request = signer.sign(request, payloadHash: payloadHash, date: now()) }
        var head = HTTPRequestHead(version: .http1_1, method: HTTPMethod(rawValue: method), uri: request.target)
        for field in request.headers { head.headers.add(name: field.name, value: field.value) }
        if body != nil || method == "PUT" || method == "POST" {
            head.headers.add(name: "Content-Length", value: String(body?.readableBytes ?? 0))
        }
        var failureBody: [UInt8] = []
        let response: HTTPResponseHead
        do {
            response = try await http.exchange(endpoint, head: head, body: body) { head, chunk in
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

    func read(offset: Int, count: Int) throws(S3Error) -> ByteBuffer {
        var buffer = ByteBufferAllocator().buffer(capacity: count)
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
        return buffer
    }
}
