public import Foundation
public import GRDB
public import SluiceCore

/// The metadata store: one SQLite file in WAL mode, shared safely by many processes.
///
/// Every method is one transaction. Writers wait for each other (busy timeout) instead of failing with
/// "database is locked"; how far a commit has reached when a method returns is the store's `Durability`.
public final class SQLiteStore: ExecutionStore {
    /// What a committed transaction survives. The database file is never corrupted in either mode.
    public enum Durability: String, Sendable, CaseIterable {
        /// Every commit is synced to disk (`synchronous=FULL`): it survives power loss and an OS crash.
        case power
        /// Every commit has reached the OS (WAL with `synchronous=NORMAL`): it survives any crash or `kill -9` of
        /// Sluice itself; only the last commits before a power loss or OS crash may be rolled back.
        case process
    }

    /// The database: a `DatabasePool` on a file in production; any GRDB writer (an in-memory or file queue) in tests.
    let writer: any DatabaseWriter

    /// Opens (creating and migrating if needed) the database at `path` as a pool, WAL, shared by many processes.
    public convenience init(path: String, durability: Durability = .power) throws {
        var configuration = Configuration()
        configuration.busyMode = .timeout(60)
        let pool = try Self.namingTheFile(path) {
            let pool = try Self.openPool(path: path, configuration: Self.configured(configuration))
            // DatabasePool resets `synchronous` while preparing connections; set it on the writer once opened.
            try Self.setDurability(durability, of: pool)
            try Self.migrate(pool)
            return pool
        }
        try self.init(writer: pool)
    }

    /// A store over `writer`, migrated; the writer must enforce foreign keys (`SQLiteStore.configured(_:)`).
    ///
    /// GRDB's `DatabaseQueue()` (in memory), `DatabaseQueue(path:)` and `DatabasePool(path:)` all work; the store's
    /// behaviour is the same on each (the store conformance tests run on all three).
    public init(writer: any DatabaseWriter) throws {
        self.writer = writer
        try Self.migrate(writer)
    }

    /// `configuration` with what the store relies on: foreign keys enforced.
    public static func configured(_ configuration: Configuration = Configuration()) -> Configuration {
        var configuration = configuration
        configuration.foreignKeysEnabled = true
        return configuration
    }

    /// Sets how far a commit reaches before it returns (call after opening: pools reset it while preparing).
    public static func setDurability(_ durability: Durability, of writer: any DatabaseWriter) throws {
        let synchronous = durability == .power ? "FULL" : "NORMAL"
        try writer.barrierWriteWithoutTransaction { db in try db.execute(sql: "PRAGMA synchronous = \(synchronous)") }
    }

    /// Opens the pool. While another process creates the same file, SQLite may answer `PRAGMA journal_mode = WAL`
    /// with "database is locked" without calling the busy handler: that answer is retried for up to 10 s.
    private static func openPool(path: String, configuration: Configuration) throws -> DatabasePool {
        var attempt = 0
        while true {
            do {
                return try DatabasePool(path: path, configuration: configuration)
            } catch let error as DatabaseError where error.resultCode == .SQLITE_BUSY && attempt < 200 {
                attempt += 1
                usleep(50_000)
            }
        }
    }

    /// Runs the migrations, tolerating another process doing the same at the same moment.
    private static func migrate(_ writer: any DatabaseWriter) throws {
        let migrator = Migrations.migrator
        for attempt in 0..<5 {
            do {
                if try writer.read({ try migrator.hasCompletedMigrations($0) }) { return }
                try migrator.migrate(writer)
                return
            } catch {
                if attempt == 4 { throw error }
                usleep(50_000)
            }
        }
    }

    /// Runs `body` in one immediate transaction; a full disk or an I/O error names the database file.
    func write<T>(_ body: (Database) throws -> T) throws -> T {
        try Self.namingTheFile(writer.path) {
            try writer.writeWithoutTransaction { db in
                var result: T?
                try db.inTransaction(.immediate) {
                    result = try body(db)
                    return .commit
                }
                return result!
            }
        }
    }
}

/// A store operation refused: a conflict, a used token, an illegal transition.
public typealias StoreError = RequestError

extension JSONValue {
    static func parse(_ text: String) -> JSONValue? {
        try? JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
    }
}
