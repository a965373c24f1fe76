public import Foundation
public import SluiceCore

/// Content-addressed files under `artifacts/sha256/ab/abcdef…`: written to a temporary file, synced, renamed.
///
/// A folder is stored as a manifest (one line per file: digest, size, relative path, sorted) whose digest is the
/// folder's address; each file is stored under its own digest. Identical content always gets the same address,
/// wherever it was copied from.
public struct ArtifactStore: ArtifactStoring {
    public let root: String

    public init(root: String) { self.root = root }

    public func ingest(path: String) throws -> ArtifactReference { try digest(path: path, store: true) }

    public func contentHash(path: String) throws -> ArtifactReference { try digest(path: path, store: false) }

    /// Where the blob of a digest lives.
    public func location(of hash: String) -> String {
        let hex = hash.hasPrefix("sha256:") ? String(hash.dropFirst(7)) : hash
        return "\(root)/sha256/\(hex.prefix(2))/\(hex)"
    }

    private func digest(path: String, store: Bool) throws -> ArtifactReference {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw StoreError(code: "missing-artifact", message: "\(path): no such file or folder")
        }
        if !isDirectory.boolValue {
            let data = try Data(contentsOf: URL(fileURLWithPath: path))
            let hash = "sha256:" + SHA256.hex(data)
            if store { try write(data, as: hash) }
            return ArtifactReference(hash: hash, kind: .file, size: data.count)
        }
        guard let enumerator = FileManager.default.enumerator(atPath: path) else {
            throw StoreError(code: "unreadable-folder", message: "\(path): cannot list the folder")
        }
        var lines: [String] = []
        var total = 0
        for case let relative as String in enumerator {
            var isFolder: ObjCBool = false
            FileManager.default.fileExists(atPath: "\(path)/\(relative)", isDirectory: &isFolder)
            if isFolder.boolValue { continue }
            let file = try digest(path: "\(path)/\(relative)", store: store)
            total += file.size
            lines.append("\(file.hash) \(file.size) \(relative)")
        }
        let manifest = Data((lines.sorted().joined(separator: "\n") + "\n").utf8)
        let hash = "sha256:" + SHA256.hex(manifest)
        if store { try write(manifest, as: hash) }
        return ArtifactReference(hash: hash, kind: .folder, size: total)
    }

    private func write(_ data: Data, as hash: String) throws {
        let target = location(of: hash)
        if FileManager.default.fileExists(atPath: target) { return }
        let folder = (target as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let temporary = "\(folder)/.tmp-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
        // The artifact appears under its name only whole and synced; any failure leaves nothing behind.
        func failure(_ what: String) -> StoreError {
            let cause = String(cString: strerror(errno))
            unlink(temporary)
            return StoreError(
                code: "artifact-write",
                message: "\(target): cannot \(what) the artifact: \(cause); free space (or fix permissions) under "
                    + "\(root), then run the step again (`sluice retry`)")
        }
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw failure("create") }
        let written = data.withUnsafeBytes { buffer -> Bool in
            var offset = 0
            while offset < buffer.count {
                let count = Foundation.write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
                if count < 0, errno == EINTR { continue }
                if count <= 0 { return false }
                offset += count
            }
            return true
        }
        guard written else {
            close(descriptor)
            throw failure("write")
        }
        guard fsync(descriptor) == 0 else {
            close(descriptor)
            throw failure("sync")
        }
        close(descriptor)
        guard rename(temporary, target) == 0 else { throw failure("rename") }
    }
}

/// The `.sluice/` folder: where the database, artifacts and work directories live.
public struct SluiceHome: Sendable {
    public let path: String

    /// `$SLUICE_HOME` if set, else `.sluice` in the working directory.
    public static func resolve(environment: [String: String] = ProcessInfo.processInfo.environment) -> SluiceHome {
        if let home = environment["SLUICE_HOME"], !home.isEmpty { return SluiceHome(path: home) }
        return SluiceHome(path: FileManager.default.currentDirectoryPath + "/.sluice")
    }

    public init(path: String) { self.path = path }

    public var databasePath: String { "\(path)/sluice.db" }
    public var artifactsPath: String { "\(path)/artifacts" }
    public var executionsPath: String { "\(path)/executions" }

    /// Creates the folder if needed and opens the store.
    public func open(durability: SQLiteStore.Durability = .power) throws -> SQLiteStore {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return try SQLiteStore(path: databasePath, durability: durability)
    }

    /// `$SLUICE_DURABILITY` (`power`, the default, or `process`).
    public static func durability(
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws -> SQLiteStore.Durability {
        guard let text = environment["SLUICE_DURABILITY"], !text.isEmpty else { return .power }
        guard let durability = SQLiteStore.Durability(rawValue: text) else {
            throw DurabilityError(text: text)
        }
        return durability
    }
}

/// `SLUICE_DURABILITY` holds something other than `power` or `process`.
public struct DurabilityError: SluiceError {
    public var text: String
    public var code: String { "bad-durability" }
    public var message: String { description }
    public var description: String {
        "SLUICE_DURABILITY is '\(text)'; set it to 'power' (every commit synced to disk, the default) or 'process'"
    }
}
