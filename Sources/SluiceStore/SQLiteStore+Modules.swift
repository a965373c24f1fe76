import GRDB
public import SluiceCore

/// A catalog request that cannot be honoured (no such name or version).
public struct ModuleCatalogError: Error, CustomStringConvertible, Sendable {
    public var description: String
    init(_ description: String) { self.description = description }
}

extension Migrations {
    /// The module catalog: one row per published version of a module spec.
    static func registerModuleCatalog(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration(
            "v9_module_catalog",
            sql: """
                CREATE TABLE catalog_module (
                    name TEXT NOT NULL CHECK (name <> ''),
                    version INTEGER NOT NULL CHECK (version >= 1),
                    id TEXT NOT NULL,
                    content_hash TEXT NOT NULL,
                    spec TEXT NOT NULL,
                    source TEXT NOT NULL,
                    published_by TEXT NOT NULL,
                    published_at REAL NOT NULL,
                    deprecated INTEGER NOT NULL DEFAULT 0 CHECK (deprecated IN (0, 1)),
                    deprecation_reason TEXT,
                    PRIMARY KEY (name, version),
                    UNIQUE (name, content_hash)
                ) STRICT;
                CREATE INDEX catalog_module_by_id ON catalog_module(id, version);
                """)
    }
}

extension SQLiteStore: ModuleCatalog {
    public func publishModule(
        name: String, id: String?, newID: String, spec: String, source: String, by: String, at: Double
    ) throws -> (version: CatalogModuleVersion, created: Bool) {
        let hash = "sha256:" + SHA256.hex(Array(spec.utf8))
        return try write { db in
            if let existing = try Row.fetchOne(
                db, sql: "SELECT * FROM catalog_module WHERE name = ? AND content_hash = ?", arguments: [name, hash])
            {
                return (Self.catalogVersion(existing), false)
            }
            // Allocated inside the write transaction: concurrent publishers serialize on the writer lock.
            let version =
                try Int.fetchOne(
                    db, sql: "SELECT COALESCE(MAX(version), 0) + 1 FROM catalog_module WHERE name = ?",
                    arguments: [name]) ?? 1
            let earlierID = try String.fetchOne(
                db, sql: "SELECT id FROM catalog_module WHERE name = ? ORDER BY version DESC LIMIT 1",
                arguments: [name])
            let record = CatalogModuleVersion(
                name: name, version: version, id: id ?? earlierID ?? newID, contentHash: hash, spec: spec,
                source: source, publishedBy: by, publishedAt: at)
            try db.execute(
                sql: """
                    INSERT INTO catalog_module (name, version, id, content_hash, spec, source, published_by,
                        published_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    record.name, record.version, record.id, record.contentHash, record.spec, record.source,
                    record.publishedBy, record.publishedAt,
                ])
            return (record, true)
        }
    }

    public func catalogModules(name: String?) throws -> [CatalogModuleVersion] {
        try writer.read { db in
            let rows =
                if let name {
                    try Row.fetchAll(
                        db, sql: "SELECT * FROM catalog_module WHERE name = ? ORDER BY version", arguments: [name])
                } else {
                    try Row.fetchAll(db, sql: "SELECT * FROM catalog_module ORDER BY name, version")
                }
            return rows.map(Self.catalogVersion)
        }
    }

    public func deprecateModule(name: String, version: Int, reason: String?) throws -> CatalogModuleVersion {
        try write { db in
            try db.execute(
                sql: "UPDATE catalog_module SET deprecated = 1, deprecation_reason = ? WHERE name = ? AND version = ?",
                arguments: [reason, name, version])
            guard
                let row = try Row.fetchOne(
                    db, sql: "SELECT * FROM catalog_module WHERE name = ? AND version = ?", arguments: [name, version])
            else {
                let latest = try Int.fetchOne(
                    db, sql: "SELECT MAX(version) FROM catalog_module WHERE name = ?", arguments: [name])
                throw ModuleCatalogError(
                    latest.map { "module '\(name)' has no version \(version); its versions are 1…\($0)" }
                        ?? "no module '\(name)' in the catalog; list them with `sluice modules list`")
            }
            return Self.catalogVersion(row)
        }
    }

    private static func catalogVersion(_ row: Row) -> CatalogModuleVersion {
        CatalogModuleVersion(
            name: row["name"], version: row["version"], id: row["id"], contentHash: row["content_hash"],
            spec: row["spec"], source: row["source"], publishedBy: row["published_by"],
            publishedAt: row["published_at"], deprecated: row["deprecated"] as Int64 != 0,
            deprecationReason: row["deprecation_reason"])
    }
}
