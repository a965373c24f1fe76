import Foundation
import GRDB
public import SluiceCore

extension SQLiteStore: FeatureStore {
    public func createFeatureGroup(_ group: FeatureGroup) throws -> FeatureGroup {
        guard !group.name.isEmpty else { throw FeatureStoreError("a feature group name must not be empty") }
        let names = Set(group.features.map(\.name))
        for column in [group.recordIdentifier, group.eventTime] where !names.contains(column) {
            throw FeatureStoreError(
                "feature group '\(group.name)': '\(column)' is not one of its features (\(group.features.map(\.name)))")
        }
        return try write { db in
            if let existing = try Self.featureGroup(db, name: group.name) {
                var same = group
                same.createdAt = existing.createdAt
                guard same == existing else {
                    throw FeatureStoreError(
                        "feature group '\(group.name)' already exists with another definition "
                            + "(record identifier \(existing.recordIdentifier), event time \(existing.eventTime), "
                            + "features \(existing.features.map { "\($0.name):\($0.type.rawValue)" })); "
                            + "ingest into a new group name or keep the same columns and types")
                }
                return existing
            }
            let features = JSONValue.array(
                group.features.map { .object(["name": .string($0.name), "type": .string($0.type.rawValue)]) })
            try db.execute(
                sql: """
                    INSERT INTO feature_group (name, record_identifier, event_time, features, online_store, created_at)
                    VALUES (?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    group.name, group.recordIdentifier, group.eventTime, features.canonicalJSON,
                    group.onlineStore ? 1 : 0, group.createdAt,
                ])
            return group
        }
    }

    public func featureGroup(name: String) throws -> FeatureGroup? {
        try writer.read { db in try Self.featureGroup(db, name: name) }
    }

    public func featureGroups() throws -> [FeatureGroup] {
        try writer.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM feature_group ORDER BY name").map(Self.featureGroup)
        }
    }

    public func putFeatureRecords(group: String, records: [FeatureRecord], now: Double) throws -> Int {
        try write { db in
            guard try Self.featureGroup(db, name: group) != nil else { throw Self.unknownGroup(group) }
            let insert = try db.cachedStatement(
                sql: """
                    INSERT OR IGNORE INTO feature_record (group_name, record_id, event_time, features, written_at)
                    VALUES (?, ?, ?, ?, ?)
                    """)
            var written = 0
            for record in records {
                try insert.execute(arguments: [
                    group, record.recordID, record.eventTime, JSONValue.object(record.features).canonicalJSON, now,
                ])
                written += db.changesCount
            }
            return written
        }
    }

    public func latestFeatureRecord(group: String, recordID: String) throws -> FeatureRecord? {
        try writer.read { db in
            guard let definition = try Self.featureGroup(db, name: group) else { throw Self.unknownGroup(group) }
            guard definition.onlineStore else {
                throw FeatureStoreError(
                    "feature group '\(group)' has no online store; read it offline with `sluice features records`")
            }
            return try Row.fetchOne(
                db,
                sql: """
                    SELECT record_id, event_time, features FROM feature_record WHERE group_name = ? AND record_id = ?
                    ORDER BY event_time DESC, sequence DESC LIMIT 1
                    """,
                arguments: [group, recordID]
            ).map(Self.featureRecord)
        }
    }

    public func featureRecords(group: String, asOf: String?) throws -> [FeatureRecord] {
        try writer.read { db in
            guard try Self.featureGroup(db, name: group) != nil else { throw Self.unknownGroup(group) }
            guard let asOf else {
                return try Row.fetchAll(
                    db,
                    sql: """
                        SELECT record_id, event_time, features FROM feature_record WHERE group_name = ?
                        ORDER BY record_id, event_time, sequence
                        """,
                    arguments: [group]
                ).map(Self.featureRecord)
            }
            return try Row.fetchAll(
                db,
                sql: """
                    SELECT record_id, event_time, features FROM (
                        SELECT record_id, event_time, features, row_number() OVER (
                            PARTITION BY record_id ORDER BY event_time DESC, sequence DESC) AS rank
                        FROM feature_record WHERE group_name = ? AND event_time <= ?)
                    WHERE rank = 1 ORDER BY record_id
                    """,
                arguments: [group, asOf]
            ).map(Self.featureRecord)
        }
    }

    public func featureRecordCount(group: String) throws -> Int {
        try writer.read { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM feature_record WHERE group_name = ?", arguments: [group])
                ?? 0
        }
    }

    private static func unknownGroup(_ name: String) -> FeatureStoreError {
        FeatureStoreError("no feature group '\(name)'; list them with `sluice features list`")
    }

    private static func featureGroup(_ db: Database, name: String) throws -> FeatureGroup? {
        try Row.fetchOne(db, sql: "SELECT * FROM feature_group WHERE name = ?", arguments: [name]).map(featureGroup)
    }

    private static func featureGroup(_ row: Row) -> FeatureGroup {
        let features = (JSONValue.parse(row["features"])?.array ?? []).compactMap { item -> FeatureDefinition? in
            guard let name = item["name"]?.string, let type = item["type"]?.string.flatMap(FeatureType.init) else {
                return nil
            }
            return FeatureDefinition(name: name, type: type)
        }
        return FeatureGroup(
            name: row["name"], recordIdentifier: row["record_identifier"], eventTime: row["event_time"],
            features: features, onlineStore: (row["online_store"] as Int) == 1, createdAt: row["created_at"])
    }

    private static func featureRecord(_ row: Row) -> FeatureRecord {
        FeatureRecord(
            recordID: row["record_id"], eventTime: row["event_time"],
            features: JSONValue.parse(row["features"])?.object ?? [:])
    }
}
