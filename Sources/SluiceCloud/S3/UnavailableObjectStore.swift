public import SluiceCore

/// Stands in when the AWS configuration is broken: nothing fails until a step or command uses `s3://`, and then
/// with the configuration's own message.
public struct UnavailableObjectStore: ObjectStore {
    /// Why no store could be made (e.g. a missing profile).
    public var reason: String

    public init(reason: String) { self.reason = reason }

    public var location: String { "no object store (\(reason))" }

    func failure(_ uri: ObjectURI, _ operation: String) -> S3Error {
        S3Error(.unsupportedEndpoint, subject: uri.description, operation: operation, detail: reason)
    }

    public func download(_ uri: ObjectURI, to path: String) async throws -> ArtifactReference {
        throw failure(uri, "GetObject")
    }
    public func upload(file path: String, to uri: ObjectURI) async throws { throw failure(uri, "PutObject") }
    public func list(_ uri: ObjectURI) async throws -> [ObjectSummary] { throw failure(uri, "ListObjectsV2") }
    public func head(_ uri: ObjectURI) async throws -> ObjectSummary? { throw failure(uri, "HeadObject") }
    public func delete(_ uri: ObjectURI) async throws { throw failure(uri, "DeleteObject") }
    public func createBucketIfAbsent(_ bucket: String) async throws -> Bool {
        throw failure(ObjectURI(bucket: bucket, key: ""), "CreateBucket")
    }
}
