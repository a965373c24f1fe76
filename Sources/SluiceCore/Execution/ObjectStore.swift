/// The location of an object or a key prefix: `s3://bucket/key`.
@MemberwiseInit
public struct ObjectURI: Hashable, Sendable, CustomStringConvertible {
    public var bucket: String
    /// The key, without a leading slash; empty for a whole bucket.
    public var key: String

    /// Parses `s3://bucket[/key]`; `nil` for anything else (local paths, other schemes).
    public init?(parsing text: String) {
        guard text.hasPrefix("s3://") else { return nil }
        let rest = text.dropFirst("s3://".count)
        let slash = rest.firstIndex(of: "/") ?? rest.endIndex
        let bucket = String(rest[..<slash])
        guard !bucket.isEmpty else { return nil }
        self.bucket = bucket
        self.key = slash == rest.endIndex ? "" : String(rest[rest.index(after: slash)...])
    }

    /// `s3://bucket/key`.
    public var description: String { key.isEmpty ? "s3://\(bucket)" : "s3://\(bucket)/\(key)" }

    /// The key as a prefix of the objects "inside" it (`data` → `data/`; empty stays empty).
    public var folderPrefix: String { key.isEmpty || key.hasSuffix("/") ? key : key + "/" }

    /// The URI of `relative` below this one (`s3://b/data` + `x/y.csv` → `s3://b/data/x/y.csv`).
    public func appending(_ relative: String) -> ObjectURI { ObjectURI(bucket: bucket, key: folderPrefix + relative) }
}

/// One stored object, as listed.
@MemberwiseInit
public struct ObjectSummary: Hashable, Sendable {
    public var uri: ObjectURI
    public var size: Int
    /// The time of the last write as the store reports it (ISO 8601), when it does.
    public var lastModified: String?
    /// The store's tag of the content (S3's ETag, without quotes), when it gives one: equal tags, equal content.
    public var etag: String?
}

/// What `ObjectStore.fetch` put on disk.
@MemberwiseInit
public struct FetchedObject: Hashable, Sendable {
    /// The local file (one object) or folder (every object under a prefix, keys as relative paths).
    public var path: String
    /// The content of a single fetched file, hashed while it streamed; `nil` for a folder.
    public var content: ArtifactReference?
}

/// Objects addressed by `s3://bucket/key`: an S3 API (AWS or any S3-compatible endpoint) or the embedded folders
/// under `.sluice/s3/`.
///
/// A conformer streams data between files and objects (never a whole object in memory), writes local files
/// atomically (temporary file, sync, rename), and throws errors whose description names the URI, the cause (no such
/// bucket, no such key, access denied, signature mismatch, unreachable endpoint) and how to fix it. SluiceCloud
/// implements `fetch` and `publish` for every conformer on top of the object operations.
public protocol ObjectStore: Sendable {
    /// Where the objects live, for messages: `the embedded store at /w/.sluice/s3` or `http://127.0.0.1:9000`.
    var location: String { get }
    /// Writes the object at `uri` to the file `path`, returning the content's SHA-256 reference.
    func download(_ uri: ObjectURI, to path: String) async throws -> ArtifactReference
    /// Stores the file at `path` as the object `uri`, replacing any earlier one.
    func upload(file path: String, to uri: ObjectURI) async throws
    /// Every object whose key starts with `uri.key` (all levels), sorted by key.
    func list(_ uri: ObjectURI) async throws -> [ObjectSummary]
    /// The object at `uri`, or `nil` when there is none (a missing bucket is an error).
    func head(_ uri: ObjectURI) async throws -> ObjectSummary?
    /// Removes the object at `uri` (no error when it is absent, as in S3).
    func delete(_ uri: ObjectURI) async throws
    /// Creates the bucket `bucket` unless it exists (`sluice aws deploy` makes its artifact bucket so).
    /// - Returns: whether it was created; `false` when it was there already.
    /// - Throws: when the name is not a valid bucket name or the store cannot create it, naming the bucket.
    func createBucketIfAbsent(_ bucket: String) async throws -> Bool
    /// Fetches the object `uri`, or, when there is none, every object under the prefix `uri/`, into `directory`.
    /// Fails naming the URI when neither exists.
    func fetch(_ uri: ObjectURI, into directory: String) async throws -> FetchedObject
    /// Uploads a file to `uri`, or every file of a folder under the prefix `uri/`.
    func publish(_ path: String, to uri: ObjectURI) async throws
}
