import ArgumentParser
import Foundation
import SluiceCloud
import SluiceCore
import SluiceStore

/// `sluice s3`: copy and list objects in the configured store (an S3 API, or the embedded `.sluice/s3/` folders).
struct S3Command: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "s3",
        abstract: "Copy and list s3:// objects (an S3-compatible endpoint when configured, else .sluice/s3/).",
        subcommands: [Copy.self, List.self])

    /// The store this environment configures.
    static func store() -> any ObjectStore {
        ObjectStores.fromEnvironment(
            ProcessInfo.processInfo.environment, embeddedRoot: SluiceHome.resolve().path + "/s3")
    }

    struct Copy: AsyncReportingCommand {
        static let configuration = CommandConfiguration(
            commandName: "cp",
            abstract: "Copy a file or folder to s3://, an object to a local path, or an object to another URI.")

        @Argument(help: "A local file or folder, or s3://bucket/key.") var source: String
        @Argument(help: "s3://bucket/key (a trailing / keeps the file name), or a local path.") var destination: String

        func execute() async throws {
            let store = S3Command.store()
            switch (ObjectURI(parsing: source), ObjectURI(parsing: destination)) {
            case (nil, nil):
                throw CLIError("neither \(source) nor \(destination) is an s3:// URI; one of them must be")
            case (nil, var target?):
                if target.key.isEmpty || target.key.hasSuffix("/") {
                    target = target.appending((source as NSString).lastPathComponent)
                }
                try await store.publish(source, to: target)
                print("upload: \(source) to \(target)")
            case (let object?, nil):
                var path = destination
                var isFolder: ObjCBool = false
                if destination.hasSuffix("/")
                    || (FileManager.default.fileExists(atPath: destination, isDirectory: &isFolder)
                        && isFolder.boolValue)
                {
                    path = (destination as NSString).appendingPathComponent(
                        (object.key as NSString).lastPathComponent)
                }
                let content = try await store.download(object, to: path)
                print("download: \(object) to \(path) (\(content.size) bytes, \(content.hash))")
            case (let object?, var target?):
                if target.key.isEmpty || target.key.hasSuffix("/") {
                    target = target.appending((object.key as NSString).lastPathComponent)
                }
                let scratch = SluiceHome.resolve().path + "/s3-copy-\(UUID().uuidString)"
                defer { try? FileManager.default.removeItem(atPath: scratch) }
                _ = try await store.download(object, to: scratch)
                try await store.upload(file: scratch, to: target)
                print("copy: \(object) to \(target)")
            }
        }
    }

    struct List: AsyncReportingCommand {
        static let configuration = CommandConfiguration(
            commandName: "ls", abstract: "List every object whose key starts with the URI's key.")

        @Argument(help: "s3://bucket[/prefix]") var uri: String

        func execute() async throws {
            guard let prefix = ObjectURI(parsing: uri) else {
                throw CLIError("\(uri) is not an s3:// URI; write s3://bucket[/prefix]")
            }
            for object in try await S3Command.store().list(prefix) {
                print("\(object.lastModified ?? "-")  \(String(object.size).leftPadded(to: 12))  \(object.uri)")
            }
        }
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}
