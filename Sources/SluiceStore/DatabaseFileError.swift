import Foundation
public import GRDB
public import SluiceCore

/// SQLite could not write (or open) the database file: the disk is full, or an I/O error. Names the file, the cause
/// and the fix; the transaction was rolled back, so the database is as it was before.
public struct DatabaseFileError: SluiceError {
    /// The database file.
    public let path: String
    /// SQLite's error.
    public let underlying: DatabaseError
    /// Whether the filesystem holding the file has no space left.
    public let diskFull: Bool

    public var code: String { diskFull ? "disk-full" : "database-io-error" }
    public var cause: (any Error)? { underlying }

    public var message: String {
        let folder = (path as NSString).deletingLastPathComponent
        let sqlite =
            "SQLite error \(underlying.resultCode.rawValue): \(underlying.message ?? "\(underlying.resultCode)")"
        if diskFull {
            return "\(path): no space left on the disk (\(sqlite)); nothing of this change was saved. Fix: free space "
                + "on the filesystem holding \(folder) (`df -h \(folder)`), then run the command again"
        }
        return "\(path): the database file cannot be read or written (\(sqlite)); nothing of this change was saved. "
            + "Fix: check the disk holding \(folder) (`df -h \(folder)`, the kernel log) and the file's permissions, "
            + "then run the command again"
    }

    public var description: String { message }

    /// `error` as a `DatabaseFileError` when it is a full disk or an I/O error on the file at `path`; nil otherwise.
    static func classify(_ error: any Error, path: String) -> DatabaseFileError? {
        guard let error = error as? DatabaseError,
            error.resultCode == .SQLITE_FULL || error.resultCode == .SQLITE_IOERR
                || error.resultCode == .SQLITE_CANTOPEN
        else { return nil }
        // SQLite reports some writes a full disk refused (growing the shared-memory index) as I/O errors.
        let full = error.resultCode == .SQLITE_FULL || Self.noSpaceLeft(under: path)
        return DatabaseFileError(path: path, underlying: error, diskFull: full)
    }

    /// Whether the filesystem holding `path` has no block left for an unprivileged writer.
    static func noSpaceLeft(under path: String) -> Bool {
        var status = statvfs()
        guard statvfs((path as NSString).deletingLastPathComponent, &status) == 0 else { return false }
        return status.f_bavail == 0
    }
}

extension SQLiteStore {
    /// Runs `body`, throwing a `DatabaseFileError` naming `path` for a full disk or an I/O error.
    static func namingTheFile<T>(_ path: String, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch {
            throw DatabaseFileError.classify(error, path: path) ?? error
        }
    }
}
