import Crypto
import NIOCore
import NIOHTTP1
import SluiceCore

extension S3Client {
    /// Uploads `file` in parts of `partSize`, `concurrentParts` at a time, each with its CRC-32; aborts the upload if
    /// anything fails, so the store frees the parts.
    func uploadInParts(_ file: LocalFile, to uri: ObjectURI) async throws {
        let uploadID = try await createUpload(uri)
        do {
            let count = (file.size + partSize - 1) / partSize
            var parts = [String](repeating: "", count: count)
            try await withThrowingTaskGroup(of: SentPart.self) { group in
                // A sent part's buffer is filled again by a later part: memory already touched costs no page faults.
                var spareBuffers: [ByteBuffer] = []
                for index in 0..<count {
                    // At most `concurrentParts` parts (and their buffers) in flight.
                    if index >= concurrentParts, let sent = try await group.next() {
                        parts[sent.index] = sent.xml
                        spareBuffers.append(sent.buffer)
                    }
                    // Read here rather than in the task: a task holding the spare buffer it was given would keep a
                    // second reference to it, and `clear()` would then copy instead of reusing it.
                    var buffer = spareBuffers.popLast() ?? ByteBuffer()
                    buffer.clear()
                    let offset = index * partSize
                    try file.read(offset: offset, count: min(partSize, file.size - offset), into: &buffer)
                    group.addTask { [buffer] in
                        let body = HashedBody(buffer)
                        let head = try await send(
                            "PUT", uri, query: [("partNumber", String(index + 1)), ("uploadId", uploadID)],
                            body: body, headers: Self.checksumHeaders(body.crc32), operation: "UploadPart")
                        let etag = XMLText.escape(head.headers.first(name: "etag") ?? "")
                        return SentPart(
                            index: index,
                            xml: "<Part><PartNumber>\(index + 1)</PartNumber><ETag>\(etag)</ETag>"
                                + "<ChecksumCRC32>\(body.crc32)</ChecksumCRC32></Part>",
                            buffer: buffer)
                    }
                }
                while let sent = try await group.next() { parts[sent.index] = sent.xml }
            }
            try await complete(uri, uploadID: uploadID, parts: parts)
        } catch {
            // Abort so the store frees the parts; the original failure is what the user needs to see.
            _ = try? await send("DELETE", uri, query: [("uploadId", uploadID)], operation: "AbortMultipartUpload")
            throw error
        }
    }

    /// An uploaded part: its entry in CompleteMultipartUpload and the buffer it was read into.
    private struct SentPart: Sendable {
        var index: Int
        var xml: String
        var buffer: ByteBuffer
    }

    /// CreateMultipartUpload, as a CRC32 upload; returns its id.
    private func createUpload(_ uri: ObjectURI) async throws -> String {
        var created: [UInt8] = []
        _ = try await send(
            "POST", uri, query: [("uploads", "")], headers: [("x-amz-checksum-algorithm", "CRC32")],
            operation: "CreateMultipartUpload"
        ) { created += $0.readableBytesView }
        guard let uploadID = XMLText.first("UploadId", in: String(decoding: created, as: UTF8.self)) else {
            throw S3Error(
                .other, subject: uri.description, operation: "CreateMultipartUpload",
                detail: "the answer has no UploadId")
        }
        return uploadID
    }

    /// CompleteMultipartUpload with the parts' XML, in order.
    private func complete(_ uri: ObjectURI, uploadID: String, parts: [String]) async throws {
        let xml = "<CompleteMultipartUpload>\(parts.joined())</CompleteMultipartUpload>"
        var answer: [UInt8] = []
        _ = try await send(
            "POST", uri, query: [("uploadId", uploadID)], body: HashedBody(ByteBuffer(string: xml)),
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
    }

    /// Headers that ask S3 to check a body against its CRC-32 and refuse it when they differ, as the AWS SDKs send by
    /// default. A multipart upload created with a CRC32 algorithm also lets the store build the object's checksum
    /// from its parts' instead of reading the whole object again.
    static func checksumHeaders(_ crc32: String) -> [(name: String, value: String)] {
        [("x-amz-sdk-checksum-algorithm", "CRC32"), ("x-amz-checksum-crc32", crc32)]
    }
}

/// A request body and the two digests its request carries: the SHA-256 the signature covers and the CRC-32 the
/// store checks, both taken in one pass over the bytes.
struct HashedBody: Sendable {
    var bytes: ByteBuffer
    /// Lowercase hex, as `x-amz-content-sha256` takes it.
    var sha256: String
    /// Base64, as `x-amz-checksum-crc32` takes it.
    var crc32: String

    init(_ bytes: ByteBuffer) {
        var sha256 = Crypto.SHA256()
        var crc32 = CRC32()
        bytes.withUnsafeReadableBytes { all in
            // Block by block, so each block is still in the cache for the second digest.
            var offset = 0
            while offset < all.count {
                let block = UnsafeRawBufferPointer(rebasing: all[offset..<min(offset + (1 << 16), all.count)])
                sha256.update(bufferPointer: block)
                crc32.update(block)
                offset += block.count
            }
        }
        self.bytes = bytes
        self.sha256 = Hex.encode(sha256.finalize())
        self.crc32 = CRC32.base64(crc32.value)
    }
}
