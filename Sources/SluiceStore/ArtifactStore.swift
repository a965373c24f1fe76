public import Foundation
public import SluiceCore

/// Content-addressed files under `artifacts/sha256/ab/abcdef…`: written to a temporary file, synced, renamed.
///
/// A folder is stored as a manifest (one line per file: digest, size, relative path, sorted) whose digest is the
/// folder's address; each file is stored under its own digest. Identical content always gets the same address,
/// wherever it was copied from. Files are read once, a megabyte at a time, hashed and copied in the same pass, so an
/// artifact of any size needs no more memory than that; content already stored is copied too (to the page cache,
/// never synced) and the copy dropped once its digest is known.
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
        if !isDirectory.boolValue { return try digestFile(path: path, store: store) }
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
        let manifest = Array((lines.sorted().joined(separator: "\n") + "\n").utf8)
        let hash = "sha256:" + SHA256.hex(manifest)
        if store, !FileManager.default.fileExists(atPath: location(of: hash)) {
            let blob = try PendingBlob(in: self)
            try manifest.withUnsafeBytes { try blob.append($0) }
            try blob.commit(as: location(of: hash))
        }
        return ArtifactReference(hash: hash, kind: .folder, size: total)
    }

    /// Hashes a file and, when `store` is set, copies it under its digest, both in one pass over its bytes.
    private func digestFile(path: String, store: Bool) throws -> ArtifactReference {
        let input = open(path, O_RDONLY | O_CLOEXEC)
        guard input >= 0 else {
            throw StoreError(
                code: "unreadable-artifact",
                message: "\(path): cannot open the file: \(String(cString: strerror(errno))); check its permissions")
        }
        defer { close(input) }
        let blob = try store ? PendingBlob(in: self) : nil
        var hasher = SHA256()
        var size = 0
        try withUnsafeTemporaryAllocation(byteCount: 1 << 20, alignment: 16) { buffer in
            while true {
                let count = read(input, buffer.baseAddress, buffer.count)
                if count < 0, errno == EINTR { continue }
                guard count >= 0 else {
                    throw StoreError(
                        code: "unreadable-artifact",
                        message: "\(path): cannot read the file: \(String(cString: strerror(errno)))")
                }
                if count == 0 { break }
                let bytes = UnsafeRawBufferPointer(rebasing: buffer[..<count])
                hasher.update(bytes)
                try blob?.append(bytes)
                size += count
            }
        }
        let hash = "sha256:" + hasher.finalizeHex()
        try blob?.commit(as: location(of: hash))
        return ArtifactReference(hash: hash, kind: .file, size: size)
    }
}

/// A blob on its way into the store: a temporary file in `sha256/`, renamed to its digest's place only once it is
/// whole and synced, so a crash or a full disk never leaves a partial blob under a digest. A blob given up on (a
/// failed write, or simply dropped) takes its temporary file with it.
private final class PendingBlob {
    let artifacts: ArtifactStore
    let temporary: String
    private var descriptor: Int32

    init(in artifacts: ArtifactStore) throws {
        self.artifacts = artifacts
        let folder = "\(artifacts.root)/sha256"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        temporary = "\(folder)/.tmp-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
        descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw Self.failure("create", temporary, artifacts: artifacts) }
    }

    deinit { discard() }

    func append(_ bytes: UnsafeRawBufferPointer) throws {
        var offset = 0
        while offset < bytes.count {
            let count = write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { throw Self.failure("write", temporary, artifacts: artifacts) }
            offset += count
        }
    }

    /// Syncs the blob and gives it its name; when a blob of that digest is already stored, this copy goes. Either
    /// way, and on failure too, the temporary file is gone afterwards.
    func commit(as target: String) throws {
        if FileManager.default.fileExists(atPath: target) {
            discard()
            return
        }
        guard fsync(descriptor) == 0 else { throw Self.failure("sync", temporary, artifacts: artifacts) }
        close(descriptor)
        descriptor = -1
        let folder = (target as NSString).deletingLastPathComponent
        do {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        } catch {
            unlink(temporary)
            throw error
        }
        guard rename(temporary, target) == 0 else {
            let error = Self.failure("rename", target, artifacts: artifacts)
            unlink(temporary)
            throw error
        }
    }

    /// Closes and removes the temporary file, once: after a failure, or when the blob is already stored.
    func discard() {
        guard descriptor >= 0 else { return }
        close(descriptor)
        descriptor = -1
        unlink(temporary)
    }

    private static func failure(_ what: String, _ path: String, artifacts: ArtifactStore) -> StoreError {
        StoreError(
            code: "artifact-write",
            message: "\(path): cannot \(what) the artifact: \(String(cString: strerror(errno))); free space (or fix "
                + "permissions) under \(artifacts.root), then run the step again (`sluice retry`)")
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
