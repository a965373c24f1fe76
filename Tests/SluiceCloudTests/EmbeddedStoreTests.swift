import Foundation
import SluiceCloud
import SluiceCore
import Testing

/// The embedded store: buckets as folders under `.sluice/s3/`.
@Suite struct EmbeddedStoreTests {
    let scratch: Scratch
    var folder: String { scratch.path }
    let store: EmbeddedObjectStore

    init() throws {
        let scratch = try Scratch()
        self.scratch = scratch
        store = EmbeddedObjectStore(root: "\(scratch.path)/s3")
    }

    @Test func objectsRoundTripAsFiles() async throws {
        let bytes = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 7919) }
        FileManager.default.createFile(atPath: "\(folder)/in.bin", contents: Data(bytes))
        let uri = ObjectURI(parsing: "s3://ml-data/raw/in.bin")!
        try await store.upload(file: "\(folder)/in.bin", to: uri)
        #expect(FileManager.default.contents(atPath: "\(folder)/s3/ml-data/raw/in.bin") == Data(bytes))
        #expect(try await store.head(uri)?.size == bytes.count)
        let content = try await store.download(uri, to: "\(folder)/out/copy.bin")
        #expect(FileManager.default.contents(atPath: "\(folder)/out/copy.bin") == Data(bytes))
        #expect(content.hash == "sha256:" + SHA256.hex(bytes))
        #expect(content.size == bytes.count)
        // No temporary file is left beside the objects.
        #expect(try FileManager.default.contentsOfDirectory(atPath: "\(folder)/s3/.incoming").isEmpty)
        try await store.delete(uri)
        #expect(try await store.head(uri) == nil)
    }

    @Test func aPrefixFetchesAsAFolderAndAFolderPublishesAsAPrefix() async throws {
        try FileManager.default.createDirectory(atPath: "\(folder)/batch/nested", withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: "\(folder)/batch/a.csv", contents: Data("1,2\n".utf8))
        FileManager.default.createFile(atPath: "\(folder)/batch/nested/b.csv", contents: Data("3,4\n".utf8))
        let prefix = ObjectURI(parsing: "s3://ml-data/batch")!
        try await store.publish("\(folder)/batch", to: prefix)
        #expect(
            try await store.list(prefix).map(\.uri.description) == [
                "s3://ml-data/batch/a.csv", "s3://ml-data/batch/nested/b.csv",
            ])
        let fetched = try await store.fetch(prefix, into: "\(folder)/inputs")
        #expect(fetched.path == "\(folder)/inputs/batch")
        #expect(fetched.content == nil)
        #expect(FileManager.default.contents(atPath: "\(folder)/inputs/batch/nested/b.csv") == Data("3,4\n".utf8))
        let single = try await store.fetch(prefix.appending("a.csv"), into: "\(folder)/one")
        #expect(single.path == "\(folder)/one/a.csv")
        #expect(single.content?.hash == "sha256:" + SHA256.hex(Array("1,2\n".utf8)))
    }

    @Test func missingThingsAreNamed() async throws {
        FileManager.default.createFile(atPath: "\(folder)/x", contents: Data("x".utf8))
        try await store.upload(file: "\(folder)/x", to: ObjectURI(parsing: "s3://ml-data/x")!)
        let noKey = await #expect(throws: S3Error.self) {
            try await store.fetch(ObjectURI(parsing: "s3://ml-data/missing.csv")!, into: "\(folder)/in")
        }
        #expect(noKey?.code == .noSuchKey)
        #expect(noKey?.description.hasPrefix("s3://ml-data/missing.csv: ") == true)
        #expect(noKey?.description.contains("sluice s3 cp FILE s3://ml-data/missing.csv") == true)
        let noBucket = await #expect(throws: S3Error.self) {
            try await store.download(ObjectURI(parsing: "s3://other-bucket/k")!, to: "\(folder)/k")
        }
        #expect(noBucket?.code == .noSuchBucket)
        #expect(noBucket?.description.contains("no bucket 'other-bucket'") == true)
        let escape = await #expect(throws: S3Error.self) {
            try await store.upload(file: "\(folder)/x", to: ObjectURI(parsing: "s3://ml-data/../escape")!)
        }
        #expect(escape?.code == .badURI)
    }

    /// Bucket creation through the protocol, as `sluice aws deploy` makes its artifact bucket: here a folder, made once.
    @Test func aBucketIsCreatedOnceAsAFolder() async throws {
        let objects: any ObjectStore = store
        #expect(try await objects.createBucketIfAbsent("artifacts"))
        var isFolder: ObjCBool = false
        #expect(FileManager.default.fileExists(atPath: "\(folder)/s3/artifacts", isDirectory: &isFolder))
        #expect(isFolder.boolValue)
        #expect(try await objects.list(ObjectURI(bucket: "artifacts", key: "")).isEmpty)
        #expect(try await objects.createBucketIfAbsent("artifacts") == false)
        let bad = await #expect(throws: S3Error.self) { try await objects.createBucketIfAbsent("Bad_Name") }
        #expect(bad?.code == .badURI)
        #expect(bad?.description.contains("'Bad_Name' is not a valid bucket name") == true)

        let unavailable: any ObjectStore = UnavailableObjectStore(reason: "the profile 'ml' is not in ~/.aws/config")
        let refused = await #expect(throws: S3Error.self) { try await unavailable.createBucketIfAbsent("artifacts") }
        #expect(refused?.description.hasPrefix("s3://artifacts") == true, "\(String(describing: refused))")
        #expect(refused?.description.contains("the profile 'ml' is not in ~/.aws/config") == true)
    }
}
