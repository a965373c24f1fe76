import GRDB
public import SluiceCore

extension SQLiteStore: ModelRegistry {
    /// Registers a new version, numbered from 1 per group. When the same step of the same execution registered the
    /// same artifact in the group before (an attempt re-run after its driver died), returns that version and adds
    /// nothing; a Map's iterations registering different models each get their own.
    public func registerModelVersion(_ new: NewModelVersion, by registrant: String) throws -> ModelVersionRecord {
        guard !new.group.isEmpty else { throw ModelRegistryError("a model package group name must not be empty") }
        return try write { db in
            // An attempt re-run because its driver died between this commit and the step's success commit gets the
            // version already registered, not a second one.
            if let execution = new.executionID, let step = new.stepName,
                let version = try Int.fetchOne(
                    db,
                    sql: """
                        SELECT version FROM model_version
                        WHERE group_name = ? AND execution_id = ? AND step = ? AND artifact_hash = ?
                        """,
                    arguments: [new.group, execution, step, new.artifactHash]),
                let registered = try Self.modelVersion(db, group: new.group, version: version)
            {
                return registered
            }
            try db.execute(
                sql: "INSERT OR IGNORE INTO model_group (name, created_at) VALUES (?, ?)",
                arguments: [new.group, new.createdAt])
            // Allocated inside the write transaction: concurrent registrations serialize on the writer lock.
            let version =
                try Int.fetchOne(
                    db, sql: "SELECT COALESCE(MAX(version), 0) + 1 FROM model_version WHERE group_name = ?",
                    arguments: [new.group]) ?? 1
            let record = ModelVersionRecord(registration: new, version: version)
            try db.execute(
                sql: """
                    INSERT INTO model_version (group_name, version, artifact_path, artifact_hash, metrics, status,
                        execution_id, step, input_hashes, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    record.group, record.version, record.artifactPath, record.artifactHash,
                    record.metrics?.canonicalJSON, record.status.rawValue, record.executionID, record.stepName,
                    JSONValue.object(record.inputHashes.mapValues { .string($0) }).canonicalJSON, record.createdAt,
                ])
            try Self.appendModelEvent(
                db, group: new.group, version: version, kind: "registered", alias: nil, by: registrant,
                reason: "status \(new.status.rawValue)", time: new.createdAt)
            return record
        }
    }

    public func setApprovalStatus(
        group: String, version: Int, status: ModelApprovalStatus, by: String, reason: String, now: Double
    ) throws -> ModelVersionRecord {
        try write { db in
            guard var record = try Self.modelVersion(db, group: group, version: version) else {
                throw try Self.missingVersion(db, group: group, version: version)
            }
            try db.execute(
                sql: "UPDATE model_version SET status = ? WHERE group_name = ? AND version = ?",
                arguments: [status.rawValue, group, version])
            let kind =
                switch status {
                case .approved: "approved"
                case .rejected: "rejected"
                case .pendingManualApproval: "pending"
                }
            try Self.appendModelEvent(
                db, group: group, version: version, kind: kind, alias: nil, by: by, reason: reason, time: now)
            record.status = status
            return record
        }
    }

    public func latestModelVersion(group: String, status: ModelApprovalStatus?) throws -> ModelVersionRecord? {
        try writer.read { db in
            try Row.fetchOne(
                db,
                sql: """
                    SELECT * FROM model_version WHERE group_name = ? AND (? IS NULL OR status = ?)
                    ORDER BY version DESC LIMIT 1
                    """,
                arguments: [group, status?.rawValue, status?.rawValue]
            ).map(Self.modelVersion)
        }
    }

    public func modelVersion(group: String, version: Int) throws -> ModelVersionRecord? {
        try writer.read { db in try Self.modelVersion(db, group: group, version: version) }
    }

    public func modelVersions(group: String) throws -> [ModelVersionRecord] {
        try writer.read { db in
            try Row.fetchAll(
                db, sql: "SELECT * FROM model_version WHERE group_name = ? ORDER BY version", arguments: [group]
            ).map(Self.modelVersion)
        }
    }

    public func modelGroups() throws -> [ModelGroupRecord] {
        try writer.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT g.name, g.created_at, (SELECT COUNT(*) FROM model_version v WHERE v.group_name = g.name)
                        AS versions FROM model_group g ORDER BY g.name
                    """
            ).map { ModelGroupRecord(name: $0["name"], versionCount: $0["versions"], createdAt: $0["created_at"]) }
        }
    }

    public func setAlias(group: String, alias: String, version: Int, by: String, reason: String, now: Double) throws {
        guard !alias.isEmpty else { throw ModelRegistryError("an alias name must not be empty") }
        try write { db in
            guard try Self.modelVersion(db, group: group, version: version) != nil else {
                throw try Self.missingVersion(db, group: group, version: version)
            }
            try db.execute(
                sql: """
                    INSERT INTO model_alias (group_name, alias, version) VALUES (?, ?, ?)
                    ON CONFLICT (group_name, alias) DO UPDATE SET version = excluded.version
                    """,
                arguments: [group, alias, version])
            try Self.appendModelEvent(
                db, group: group, version: version, kind: "alias", alias: alias, by: by, reason: reason, time: now)
        }
    }

    public func aliasedVersion(group: String, alias: String) throws -> ModelVersionRecord? {
        try writer.read { db in
            try Row.fetchOne(
                db,
                sql: """
                    SELECT v.* FROM model_alias a JOIN model_version v
                        ON v.group_name = a.group_name AND v.version = a.version
                    WHERE a.group_name = ? AND a.alias = ?
                    """,
                arguments: [group, alias]
            ).map(Self.modelVersion)
        }
    }

    public func modelEvents(group: String) throws -> [ModelEventRecord] {
        try writer.read { db in
            try Row.fetchAll(
                db, sql: "SELECT * FROM model_event WHERE group_name = ? ORDER BY sequence", arguments: [group]
            ).map { row in
                ModelEventRecord(
                    sequence: row["sequence"], group: row["group_name"], version: row["version"], kind: row["kind"],
                    alias: row["alias"], by: row["actor"], reason: row["reason"], time: row["time"])
            }
        }
    }

    static func modelVersion(_ db: Database, group: String, version: Int) throws -> ModelVersionRecord? {
        try Row.fetchOne(
            db, sql: "SELECT * FROM model_version WHERE group_name = ? AND version = ?", arguments: [group, version]
        ).map(modelVersion)
    }

    private static func modelVersion(_ row: Row) -> ModelVersionRecord {
        let hashes = (row["input_hashes"] as String?).flatMap(JSONValue.parse)?.object ?? [:]
        let registration = NewModelVersion(
            group: row["group_name"], artifactPath: row["artifact_path"], artifactHash: row["artifact_hash"],
            metrics: (row["metrics"] as String?).flatMap(JSONValue.parse),
            status: ModelApprovalStatus(rawValue: row["status"]) ?? .pendingManualApproval,
            executionID: row["execution_id"], stepName: row["step"], inputHashes: hashes.compactMapValues(\.string),
            createdAt: row["created_at"])
        return ModelVersionRecord(registration: registration, version: row["version"])
    }

    private static func missingVersion(_ db: Database, group: String, version: Int) throws -> ModelRegistryError {
        let versions =
            try Int.fetchOne(db, sql: "SELECT MAX(version) FROM model_version WHERE group_name = ?", arguments: [group])
        guard let latest = versions else {
            return ModelRegistryError("no model package group '\(group)'; list groups with `sluice models list`")
        }
        return ModelRegistryError("\(group) has no version \(version); its versions are 1…\(latest)")
    }

    private static func appendModelEvent(
        _ db: Database, group: String, version: Int?, kind: String, alias: String?, by: String, reason: String,
        time: Double
    ) throws {
        try db.execute(
            sql: """
                INSERT INTO model_event (group_name, version, kind, alias, actor, reason, time)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [group, version, kind, alias, by, reason, time])
    }
}
