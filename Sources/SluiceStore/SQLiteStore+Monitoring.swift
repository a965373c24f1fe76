public import Foundation
import GRDB
public import SluiceCore

extension SQLiteStore: MonitorStoring {
    /// Attaches (or replaces) a model version's baseline.
    public func setMonitorBaseline(_ baseline: MonitorBaselineRecord) throws {
        try write { db in
            guard try Self.modelVersion(db, group: baseline.group, version: baseline.version) != nil else {
                throw StoreError(
                    code: "unknown-model-version",
                    message: "no model version \(baseline.group)/\(baseline.version); list them with "
                        + "`sluice models list \(baseline.group)`")
            }
            try db.execute(
                sql: """
                    INSERT OR REPLACE INTO monitor_baseline (group_name, version, statistics_hash, constraints_hash,
                        reference_hash, features, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    baseline.group, baseline.version, baseline.statisticsHash, baseline.constraintsHash,
                    baseline.referenceHash, JSONValue.array(baseline.features.map { .string($0) }).canonicalJSON,
                    baseline.createdAt,
                ])
        }
    }

    /// The baseline attached to `group/version`, if any.
    public func monitorBaseline(group: String, version: Int) throws -> MonitorBaselineRecord? {
        try writer.read { db in
            try Row.fetchOne(
                db, sql: "SELECT * FROM monitor_baseline WHERE group_name = ? AND version = ?",
                arguments: [group, version]
            ).map { row in
                let features = (row["features"] as String?).flatMap(JSONValue.parse)?.array?.compactMap(\.string)
                return MonitorBaselineRecord(
                    group: row["group_name"], version: row["version"], statisticsHash: row["statistics_hash"],
                    constraintsHash: row["constraints_hash"], referenceHash: row["reference_hash"],
                    features: features ?? [], createdAt: row["created_at"])
            }
        }
    }

    /// Records (or changes) the schedule of an endpoint stage.
    public func setMonitorSchedule(
        endpoint: String, stage: String, everySeconds: Double, notify: [String], quality: JSONValue? = nil,
        now: Double
    ) throws {
        try write { db in
            guard try Bool.fetchOne(db, sql: "SELECT 1 FROM endpoint WHERE name = ?", arguments: [endpoint]) != nil
            else {
                throw StoreError(
                    code: "unknown-endpoint",
                    message: "no endpoint '\(endpoint)'; list them with `sluice endpoints list`")
            }
            try db.execute(
                sql: """
                    INSERT INTO monitor_schedule (endpoint, stage, every_seconds, notify, quality, created_at)
                        VALUES (?, ?, ?, ?, ?, ?)
                    ON CONFLICT (endpoint, stage) DO UPDATE SET every_seconds = excluded.every_seconds,
                        notify = excluded.notify, quality = excluded.quality
                    """,
                arguments: [
                    endpoint, stage, everySeconds, JSONValue.array(notify.map { .string($0) }).canonicalJSON,
                    quality?.canonicalJSON, now,
                ])
        }
    }

    /// Every recorded schedule, by endpoint and stage.
    public func monitorSchedules() throws -> [MonitorScheduleRecord] {
        try writer.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM monitor_schedule ORDER BY endpoint, stage").map {
                MonitorScheduleRecord(
                    endpoint: $0["endpoint"], stage: $0["stage"], everySeconds: $0["every_seconds"],
                    notify: ($0["notify"] as String?).flatMap(JSONValue.parse)?.array?.compactMap(\.string) ?? [],
                    quality: ($0["quality"] as String?).flatMap(JSONValue.parse), createdAt: $0["created_at"])
            }
        }
    }

    /// Records a run.
    public func recordMonitorRun(_ run: MonitorRunRecord) throws {
        try write { db in
            try db.execute(
                sql: """
                    INSERT INTO monitor_run (id, endpoint, stage, group_name, version, window_start, window_end,
                        row_count, violation_count, drifted_count, dataset_drift, report, folder, created_at,
                        quality_breaches)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    run.id, run.endpoint, run.stage, run.group, run.version, run.windowStart, run.windowEnd,
                    run.rowCount, run.violationCount, run.driftedCount, run.datasetDrift ? 1 : 0,
                    run.report.canonicalJSON, run.folder, run.createdAt, run.qualityBreaches,
                ])
        }
    }

    /// Runs of an endpoint (one stage, or all), newest first.
    public func monitorRuns(endpoint: String? = nil, stage: String? = nil, limit: Int = 50) throws
        -> [MonitorRunRecord]
    {
        try writer.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT * FROM monitor_run WHERE (? IS NULL OR endpoint = ?) AND (? IS NULL OR stage = ?)
                    ORDER BY window_end DESC, created_at DESC LIMIT ?
                    """,
                arguments: [endpoint, endpoint, stage, stage, limit]
            ).map(Self.monitorRun)
        }
    }

    private static func monitorRun(_ row: Row) -> MonitorRunRecord {
        MonitorRunRecord(
            id: row["id"], endpoint: row["endpoint"], stage: row["stage"], group: row["group_name"],
            version: row["version"], windowStart: row["window_start"], windowEnd: row["window_end"],
            rowCount: row["row_count"], violationCount: row["violation_count"],
            driftedCount: row["drifted_count"], datasetDrift: (row["dataset_drift"] as Int) == 1,
            report: (row["report"] as String?).flatMap(JSONValue.parse) ?? .null, folder: row["folder"],
            createdAt: row["created_at"], qualityBreaches: row["quality_breaches"])
    }

    /// The newest run of every endpoint stage.
    public func latestMonitorRuns() throws -> [MonitorRunRecord] {
        try writer.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT * FROM monitor_run AS run WHERE run.id = (
                        SELECT latest.id FROM monitor_run AS latest
                        WHERE latest.endpoint = run.endpoint AND latest.stage = run.stage
                        ORDER BY latest.window_end DESC, latest.created_at DESC LIMIT 1)
                    ORDER BY run.endpoint, run.stage
                    """
            ).map(Self.monitorRun)
        }
    }

    /// How many runs are recorded: a cheap check of whether anything changed.
    public func monitorRunCount() throws -> Int {
        try writer.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM monitor_run") ?? 0 }
    }

    /// The labels kept for `ids` of `endpoint`, by inference id.
    public func groundTruth(endpoint: String, ids: [String]) throws -> [String: JSONValue] {
        try writer.read { db in
            var found: [String: JSONValue] = [:]
            // In slices, to stay under SQLite's limit on bound parameters.
            for start in stride(from: 0, to: ids.count, by: 500) {
                let slice = Array(ids[start..<min(start + 500, ids.count)])
                let marks = Array(repeating: "?", count: slice.count).joined(separator: ",")
                let rows = try Row.fetchAll(
                    db,
                    sql:
                        "SELECT inference_id, label FROM ground_truth WHERE endpoint = ? AND inference_id IN (\(marks))",
                    arguments: StatementArguments([endpoint] + slice))
                for row in rows {
                    if let label = (row["label"] as String?).flatMap(JSONValue.parse) {
                        found[row["inference_id"]] = label
                    }
                }
            }
            return found
        }
    }
}

extension Migrations {
    static func registerMonitorQualityMigration(_ migrator: inout DatabaseMigrator) {
        // Ground truth joined with the capture by inference id; model-quality settings and threshold crossings.
        migrator.registerMigration(
            "v12_monitor_quality",
            sql: """
                CREATE TABLE ground_truth (
                    endpoint TEXT NOT NULL REFERENCES endpoint(name),
                    inference_id TEXT NOT NULL CHECK (inference_id <> ''),
                    label TEXT NOT NULL CHECK (json_valid(label)),
                    received_at REAL NOT NULL,
                    PRIMARY KEY (endpoint, inference_id)
                ) STRICT, WITHOUT ROWID;
                ALTER TABLE monitor_schedule ADD COLUMN quality TEXT CHECK (quality IS NULL OR json_valid(quality));
                ALTER TABLE monitor_run ADD COLUMN quality_breaches INTEGER NOT NULL DEFAULT 0
                    CHECK (quality_breaches >= 0);
                """)
    }
}

extension SQLiteStore: GroundTruthStoring {
    public func endpointExists(_ name: String) throws -> Bool {
        try writer.read { db in
            try Bool.fetchOne(db, sql: "SELECT 1 FROM endpoint WHERE name = ?", arguments: [name]) != nil
        }
    }

    public func recordGroundTruth(endpoint: String, labels: [GroundTruthLabel], now: Double) throws -> Int {
        try write { db in
            try db.execute(
                sql: """
                    INSERT INTO ground_truth (endpoint, inference_id, label, received_at) VALUES (?, ?, ?, ?)
                    ON CONFLICT (endpoint, inference_id) DO UPDATE SET label = excluded.label,
                        received_at = excluded.received_at
                    """, forEach: labels
            ) { label in
                [endpoint, label.inferenceId, label.label.canonicalJSON, now]
            }
            return labels.count
        }
    }
}
