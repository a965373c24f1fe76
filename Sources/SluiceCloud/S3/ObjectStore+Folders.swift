import Foundation
public import SluiceCore

extension ObjectStore {
    public func fetch(_ uri: ObjectURI, into directory: String) async throws -> FetchedObject {
        let name = uri.key.split(separator: "/").last.map(String.init) ?? uri.bucket
        if !uri.key.isEmpty, !uri.key.hasSuffix("/"), try await head(uri) != nil {
            let path = "\(directory)/\(name)"
            return FetchedObject(path: path, content: try await download(uri, to: path))
        }
        let prefix = uri.folderPrefix
        let objects = try await list(ObjectURI(bucket: uri.bucket, key: prefix))
        let files = objects.filter { !$0.uri.key.hasSuffix("/") }
        guard !files.isEmpty else {
            throw S3Error(
                .noSuchKey, subject: uri.description, operation: "GetObject",
                detail: "no object '\(uri.key)' and no objects under '\(prefix)' in bucket '\(uri.bucket)' at "
                    + "\(location); upload it first (sluice s3 cp FILE \(uri)) or fix the URI")
        }
        let folder = "\(directory)/\(name)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        for object in files {
            let relative = try Self.relativePath(of: object.uri, below: prefix)
            _ = try await download(object.uri, to: "\(folder)/\(relative)")
        }
        return FetchedObject(path: folder, content: nil)
    }

    public func publish(_ path: String, to uri: ObjectURI) async throws {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else {
            throw S3Error(
                .localFile, subject: path, operation: "upload to \(uri)", detail: "no such file or folder")
        }
        guard isFolder.boolValue else { return try await upload(file: path, to: uri) }
        let files = (FileManager.default.subpaths(atPath: path) ?? []).sorted()
        for relative in files {
            var isDirectory: ObjCBool = false
            _ = FileManager.default.fileExists(atPath: "\(path)/\(relative)", isDirectory: &isDirectory)
            if !isDirectory.boolValue { try await upload(file: "\(path)/\(relative)", to: uri.appending(relative)) }
        }
    }

    /// The part of an object's key below `prefix`, refused when it would leave the target folder.
    static func relativePath(of uri: ObjectURI, below prefix: String) throws -> String {
        let relative = String(uri.key.dropFirst(prefix.count))
        let parts = relative.split(separator: "/", omittingEmptySubsequences: false)
        guard !relative.isEmpty, !relative.hasPrefix("/"), !parts.contains(".."), !parts.contains(".") else {
            throw S3Error(
                .badURI, subject: uri.description, operation: "GetObject",
                detail: "the key has '.' or '..' segments or empty names and cannot be a local path; rename the object")
        }
        return relative
    }
}

/// The configured object store: the S3 API when credentials or an endpoint are configured, else the embedded
/// folders.
public enum ObjectStores {
    /// The store Sluice uses: `S3Client` when `configuration` has credentials or an S3 endpoint, else an
    /// `EmbeddedObjectStore` at `embeddedRoot` (`.sluice/s3`).
    public static func configured(_ configuration: AWSConfiguration, embeddedRoot: String) throws -> any ObjectStore {
        if configuration.credentials == nil, configuration.configuredEndpoint(for: "S3") == nil {
            return EmbeddedObjectStore(root: embeddedRoot)
        }
        return try S3Client(configuration: configuration)
    }

    /// The store for this process's environment (`AWSConfiguration(environment:)`); a broken configuration gives an
    /// `UnavailableObjectStore` that reports it when `s3://` is first used.
    /// - Parameters:
    ///   - environment: the environment variables.
    ///   - embeddedRoot: the folder of the embedded buckets (`.sluice/s3`).
    public static func fromEnvironment(_ environment: [String: String], embeddedRoot: String) -> any ObjectStore {
        do {
            return try configured(AWSConfiguration(environment: environment), embeddedRoot: embeddedRoot)
        } catch {
            return UnavailableObjectStore(reason: "\(error)")
        }
    }
}
