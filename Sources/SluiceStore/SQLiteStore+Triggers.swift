import Foundation
import GRDB
public import SluiceCore

extension Migrations {
    static func registerTriggerMigrations(_ migrator: inout DatabaseMigrator) {
        // One row per trigger position of a pipeline file; re-enabling updates it, so its firings stay.
        // A firing's key is unique per trigger: one execution per file content, scheduled time, model version.
        migrator.registerMigration(
            "v11_triggers",
            sql: """
                CREATE TABLE pipeline_trigger (
                    id INTEGER PRIMARY KEY,
                    name TEXT NOT NULL UNIQUE CHECK (name <> ''),
                    pipeline_path TEXT NOT NULL CHECK (pipeline_path <> ''),
                    pipeline_hash TEXT NOT NULL REFERENCES pipeline(hash),
                    position INTEGER NOT NULL CHECK (position >= 0),
                    parameters TEXT NOT NULL CHECK (json_valid(parameters)),
                    anchor REAL NOT NULL,
                    enabled INTEGER NOT NULL CHECK (enabled IN (0, 1)),
                    UNIQUE (pipeline_path, position)
                ) STRICT;
                CREATE TABLE trigger_firing (
                    sequence INTEGER PRIMARY KEY,
                    trigger_id INTEGER NOT NULL REFERENCES pipeline_trigger(id),
                    key TEXT NOT NULL CHECK (key <> ''),
                    scheduled_time INTEGER,
                    execution_id TEXT NOT NULL UNIQUE REFERENCES execution(id),
                    fired_at REAL NOT NULL,
                    UNIQUE (trigger_id, key)
                ) STRICT;
                """)
    }
}

// Enabled triggers and their firings, each firing committed with the execution it starts.
extension SQLiteStore: TriggerStore {
    public func enableTriggers(
        pipelinePath: String, pipeline: (name: String, hash: String, definition: String), names: [String],
        parameters: [String: String], now: Double
    ) throws -> [EnabledTrigger] {
        try write { db in
            try db.execute(
                sql: "INSERT OR IGNORE INTO pipeline (hash, name, definition, created_at) VALUES (?, ?, ?, ?)",
                arguments: [pipeline.hash, pipeline.name, pipeline.definition, now])
            try db.execute(
                sql: "UPDATE pipeline_trigger SET enabled = 0 WHERE pipeline_path = ?", arguments: [pipelinePath])
            let text = JSONValue.object(parameters.mapValues { .string($0) }).canonicalJSON
            try db.execute(
                sql: """
                    INSERT INTO pipeline_trigger (name, pipeline_path, pipeline_hash, position, parameters, anchor, enabled)
                    VALUES (?, ?, ?, ?, ?, ?, 1)
                    ON CONFLICT (pipeline_path, position) DO UPDATE SET name = excluded.name,
                        pipeline_hash = excluded.pipeline_hash, parameters = excluded.parameters,
                        anchor = excluded.anchor, enabled = 1
                    """, forEach: names.enumerated()
            ) { position, name in
                [name, pipelinePath, pipeline.hash, position, text, now]
            }
            return try Row.fetchAll(
                db, sql: "SELECT * FROM pipeline_trigger WHERE pipeline_path = ? AND enabled = 1 ORDER BY position",
                arguments: [pipelinePath]
            ).map(Self.enabledTrigger)
        }
    }

    public func disableTriggers(pipelinePath: String) throws -> Int {
        try write { db in
            try db.execute(
                sql: "UPDATE pipeline_trigger SET enabled = 0 WHERE pipeline_path = ? AND enabled = 1",
                arguments: [pipelinePath])
            return db.changesCount
        }
    }

    public func triggers() throws -> [EnabledTrigger] {
        try writer.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM pipeline_trigger ORDER BY id").map(Self.enabledTrigger)
        }
    }

    public func recordFiring(_ firing: TriggerFiring, execution: NewExecution) throws -> Bool {
        try write { db in
            let seen = try Bool.fetchOne(
                db, sql: "SELECT 1 FROM trigger_firing WHERE trigger_id = ? AND key = ?",
                arguments: [firing.triggerID, firing.key])
            guard seen != true else { return false }
            try insertExecution(db, execution)
            try db.execute(
                sql: """
                    INSERT INTO trigger_firing (trigger_id, key, scheduled_time, execution_id, fired_at)
                    VALUES (?, ?, ?, ?, ?)
                    """,
                arguments: [firing.triggerID, firing.key, firing.scheduledTime, firing.executionID, firing.firedAt])
            return true
        }
    }

    public func hasFired(triggerID: Int64, key: String) throws -> Bool {
        try writer.read { db in
            try Bool.fetchOne(
                db, sql: "SELECT 1 FROM trigger_firing WHERE trigger_id = ? AND key = ?", arguments: [triggerID, key])
                ?? false
        }
    }

    public func lastFiring(triggerID: Int64) throws -> TriggerFiring? {
        try writer.read { db in
            try Row.fetchOne(
                db, sql: "SELECT * FROM trigger_firing WHERE trigger_id = ? ORDER BY sequence DESC LIMIT 1",
                arguments: [triggerID]
            ).map(Self.firing)
        }
    }

    public func unfinishedExecutions(triggerID: Int64) throws -> [String] {
        try writer.read { db in
            try String.fetchAll(
                db,
                sql: """
                    SELECT f.execution_id FROM trigger_firing f JOIN execution e ON e.id = f.execution_id
                    WHERE f.trigger_id = ? AND e.status IN ('queued', 'running') ORDER BY f.sequence
                    """, arguments: [triggerID])
        }
    }

    public func firings(triggerName: String) throws -> [TriggerFiring] {
        try writer.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT f.* FROM trigger_firing f JOIN pipeline_trigger t ON t.id = f.trigger_id
                    WHERE t.name = ? ORDER BY f.sequence DESC
                    """, arguments: [triggerName]
            ).map(Self.firing)
        }
    }

    private static func enabledTrigger(_ row: Row) -> EnabledTrigger {
        let parameters = JSONValue.parse(row["parameters"])?.object ?? [:]
        return EnabledTrigger(
            id: row["id"], name: row["name"], pipelinePath: row["pipeline_path"], pipelineHash: row["pipeline_hash"],
            index: row["position"], parameters: parameters.compactMapValues(\.string), anchor: row["anchor"],
            enabled: (row["enabled"] as Int) == 1)
    }

    private static func firing(_ row: Row) -> TriggerFiring {
        TriggerFiring(
            triggerID: row["trigger_id"], key: row["key"], scheduledTime: row["scheduled_time"],
            executionID: row["execution_id"], firedAt: row["fired_at"])
    }
}
