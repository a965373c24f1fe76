import Crypto
import Foundation
import NIOCore
public import SluiceCore

/// Buckets as folders: `s3://bucket/a/b.csv` is `<root>/bucket/a/b.csv` (`.sluice/s3/` by default), so pipelines
/// that name `s3://` data run offline with no store configured. Uploading creates the bucket's folder.
public struct EmbeddedObjectStore: ObjectStore {
    /// The folder holding one folder per bucket.
    public let root: String

    public init(root: String) { self.root = root }

    public var location: String { "the embedded store at \(root)" }

    public func download(_ uri: ObjectURI, to path: String) async throws -> ArtifactReference {
        let source = try file(for: uri, operation: "GetObject")
        guard try isFile(source, uri: uri) else {
            throw S3Error.answer(
                status: 404, serviceCode: "NoSuchKey", message: nil, uri: uri, operation: "GetObject",
                location: location, credentialsSource: nil)
        }
        let input = try LocalFile(path: source)
        let writer = try AtomicFileWriter(path: path, subject: uri.description)
        var hasher = Crypto.SHA256()
        try input.forEachChunk { chunk in
            try writer.append(chunk)
            chunk.withUnsafeReadableBytes { hasher.update(bufferPointer: $0) }
        }
        try writer.commit()
        return ArtifactReference(hash: "sha256:" + Hex.encode(hasher.finalize()), kind: .file, size: input.size)
    }

    public func upload(file path: String, to uri: ObjectURI) async throws {
        let target = try objectPath(uri, operation: "PutObject")
        let input = try LocalFile(path: path)
        let writer = try AtomicFileWriter(path: target, temporaryDirectory: "\(root)/.incoming", subject: path)
        try input.forEachChunk(writer.append)
        try writer.commit()
    }

    public func head(_ uri: ObjectURI) async throws -> ObjectSummary? {
        let path = try file(for: uri, operation: "HeadObject")
        guard try isFile(path, uri: uri) else { return nil }
        return summary(uri, path: path)
    }

    public func delete(_ uri: ObjectURI) async throws {
        let path = try file(for: uri, operation: "DeleteObject")
        if try isFile(path, uri: uri) { try FileManager.default.removeItem(atPath: path) }
    }

    public func list(_ uri: ObjectURI) async throws -> [ObjectSummary] {
        let bucket = try bucketFolder(uri, operation: "ListObjectsV2")
        var results: [ObjectSummary] = []
        for relative in FileManager.default.subpaths(atPath: bucket) ?? [] where relative.hasPrefix(uri.key) {
            let path = "\(bucket)/\(relative)"
            var isFolder: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder), !isFolder.boolValue else {
                continue
            }
            results.append(summary(ObjectURI(bucket: uri.bucket, key: relative), path: path))
        }
        return results.sorted { $0.uri.key < $1.uri.key }
    }

    /// Creates the bucket's folder unless it exists.
    public func createBucketIfAbsent(_ bucket: String) async throws -> Bool {
        let folder = try checkedBucketPath(ObjectURI(bucket: bucket, key: ""), operation: "CreateBucket")
        var isFolder: ObjCBool = false
        if FileManager.default.fileExists(atPath: folder, isDirectory: &isFolder), isFolder.boolValue { return false }
        do {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        } catch {
            throw S3Error(
                .localFile, subject: "s3://\(bucket)", operation: "CreateBucket",
                detail: "cannot create the folder \(folder): \(error.localizedDescription); remove the file of that "
                    + "name or fix the permissions")
        }
        return true
    }

    // MARK: Paths

    /// The folder of a bucket, which must exist.
    func bucketFolder(_ uri: ObjectURI, operation: String) throws -> String {
        let folder = try checkedBucketPath(uri, operation: operation)
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isFolder), isFolder.boolValue else {
            throw S3Error(
                .noSuchBucket, subject: uri.description, operation: operation,
                detail: "no bucket '\(uri.bucket)' in \(location) (no folder \(folder)); put an object there first "
                    + "(sluice s3 cp FILE s3://\(uri.bucket)/KEY) or fix the bucket name")
        }
        return folder
    }

    /// The file an object lives in (its bucket must exist).
    func file(for uri: ObjectURI, operation: String) throws -> String {
        let folder = try bucketFolder(uri, operation: operation)
        return try "\(folder)/\(checkedKey(uri, operation: operation))"
    }

    /// The file an object is written to (its bucket folder is created).
    func objectPath(_ uri: ObjectURI, operation: String) throws -> String {
        try "\(checkedBucketPath(uri, operation: operation))/\(checkedKey(uri, operation: operation))"
    }

    func checkedBucketPath(_ uri: ObjectURI, operation: String) throws -> String {
        let name = uri.bucket
        let valid =
            (3...63).contains(name.count)
            && name.allSatisfy { $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "-" || $0 == ".") }
            && !name.hasPrefix(".") && !name.contains("..")
        guard valid else {
            throw S3Error(
                .badURI, subject: uri.description, operation: operation,
                detail: "'\(name)' is not a valid bucket name (3 to 63 lower-case letters, digits, '-' and '.')")
        }
        return "\(root)/\(name)"
    }

    func checkedKey(_ uri: ObjectURI, operation: String) throws -> String {
        let parts = uri.key.split(separator: "/", omittingEmptySubsequences: false)
        guard !uri.key.isEmpty, !uri.key.hasSuffix("/"),
            !parts.contains(where: { $0.isEmpty || $0 == "." || $0 == ".." })
        else {
            throw S3Error(
                .badURI, subject: uri.description, operation: operation,
                detail: "the embedded store keeps objects as files: the key must be a relative path without empty, "
                    + "'.' or '..' segments")
        }
        return uri.key
    }

    func isFile(_ path: String, uri: ObjectURI) throws -> Bool {
        var isFolder: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) && !isFolder.boolValue
    }

    func summary(_ uri: ObjectURI, path: String) -> ObjectSummary {
        let attributes = try? FileManager.default.attributesOfItem(atPath: path)
        let size = (attributes?[.size] as? NSNumber)?.intValue ?? 0
        let modified = (attributes?[.modificationDate] as? Date).map { ISO8601DateFormatter().string(from: $0) }
        return ObjectSummary(uri: uri, size: size, lastModified: modified)
    }
}
