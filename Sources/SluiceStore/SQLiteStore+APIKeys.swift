import GRDB
public import SluiceCore

/// An API key request the user can fix (an unknown key id or endpoint, a bad plan).
public struct APIKeyError: MessageError, Hashable, Sendable {
    public static let code = "api-key"
    public var description: String
    public init(_ description: String) { self.description = description }
}

extension SQLiteStore {
    /// Stores a new key record (the caller shows the key itself once and forgets it).
    public func createAPIKey(_ key: StoredAPIKey) throws {
        guard !key.name.isEmpty else { throw APIKeyError("a key name must not be empty; e.g. `--name w1-client`") }
        if let rate = key.rate, !(rate > 0 && rate.isFinite) {
            throw APIKeyError("--rate is \(rate); give requests per second > 0")
        }
        if let burst = key.burst, burst < 1 { throw APIKeyError("--burst is \(burst); give a burst ≥ 1") }
        for (option, quota) in [("--daily-quota", key.dailyQuota), ("--monthly-quota", key.monthlyQuota)] {
            if let quota, quota < 1 { throw APIKeyError("\(option) is \(quota); give a number of requests ≥ 1") }
        }
        try write { db in
            if let endpoint = key.endpoint,
                try Bool.fetchOne(db, sql: "SELECT 1 FROM endpoint WHERE name = ?", arguments: [endpoint]) == nil
            {
                let known = try String.fetchAll(db, sql: "SELECT name FROM endpoint ORDER BY name")
                throw APIKeyError(
                    "no endpoint '\(endpoint)' to scope the key to (endpoints: "
                        + "\(known.isEmpty ? "none yet" : known.joined(separator: ", "))); deploy it first or drop "
                        + "--endpoint")
            }
            try db.execute(
                sql: """
                    INSERT INTO api_key (id, name, hash, created_at, rate, burst, daily_quota, monthly_quota, endpoint)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    key.id, key.name, key.hashHex, key.createdAt, key.rate,
                    key.rate.map { key.burst ?? max(1, Int(min($0, 1e9).rounded(.up))) },
                    key.dailyQuota, key.monthlyQuota, key.endpoint,
                ])
        }
    }

    /// Every key, revoked ones included, oldest first.
    public func apiKeys() throws -> [StoredAPIKey] {
        try writer.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM api_key ORDER BY created_at, id").map { row in
                StoredAPIKey(
                    id: row["id"], name: row["name"], hashHex: row["hash"], createdAt: row["created_at"],
                    revokedAt: row["revoked_at"], rate: row["rate"], burst: row["burst"],
                    dailyQuota: row["daily_quota"], monthlyQuota: row["monthly_quota"], endpoint: row["endpoint"])
            }
        }
    }

    /// Revokes a key for good; returns the revocation time (the first one if it was already revoked).
    @discardableResult
    public func revokeAPIKey(id: String, now: Double) throws -> Double {
        try write { db in
            guard
                let row = try Row.fetchOne(db, sql: "SELECT revoked_at FROM api_key WHERE id = ?", arguments: [id])
            else {
                let ids = try String.fetchAll(db, sql: "SELECT id FROM api_key ORDER BY id")
                let hint = closestMatch(to: id, in: ids).map { "did you mean '\($0)'? " } ?? ""
                throw APIKeyError("no API key '\(id)'; \(hint)list them with `sluice keys list`")
            }
            if let revoked: Double = row["revoked_at"] { return revoked }
            try db.execute(sql: "UPDATE api_key SET revoked_at = ? WHERE id = ?", arguments: [now, id])
            return now
        }
    }

    /// The quota counts kept for every key that has used its plan.
    public func keyUsage() throws -> [KeyUsage] {
        try writer.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM api_key_usage ORDER BY key_id").map { row in
                KeyUsage(
                    keyID: row["key_id"], day: row["day"], dayCount: row["day_count"], month: row["month"],
                    monthCount: row["month_count"])
            }
        }
    }

    /// Keeps quota counts (one transaction; counts of keys deleted meanwhile are dropped).
    public func saveKeyUsage(_ counts: [KeyUsage]) throws {
        guard !counts.isEmpty else { return }
        try write { db in
            try db.execute(
                sql: """
                    INSERT INTO api_key_usage (key_id, day, day_count, month, month_count)
                    SELECT ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM api_key WHERE id = ?)
                    ON CONFLICT (key_id) DO UPDATE SET day = excluded.day, day_count = excluded.day_count,
                        month = excluded.month, month_count = excluded.month_count
                    """, forEach: counts
            ) { count in
                [count.keyID, count.day, count.dayCount, count.month, count.monthCount, count.keyID]
            }
        }
    }

    // MARK: Model version tags

    /// Sets (or, with a nil value, removes) tag `key` of a model version.
    public func setModelTag(group: String, version: Int, key: String, value: String?) throws {
        guard !key.isEmpty else { throw ModelRegistryError("a tag key must not be empty; write key=value") }
        try write { db in
            guard
                try Bool.fetchOne(
                    db, sql: "SELECT 1 FROM model_version WHERE group_name = ? AND version = ?",
                    arguments: [group, version]) != nil
            else {
                let latest = try Int.fetchOne(
                    db, sql: "SELECT MAX(version) FROM model_version WHERE group_name = ?", arguments: [group])
                throw ModelRegistryError(
                    latest.map { "\(group) has no version \(version); its versions are 1…\($0)" }
                        ?? "no model package group '\(group)'; list groups with `sluice models list`")
            }
            if let value {
                try db.execute(
                    sql: """
                        INSERT INTO model_tag (group_name, version, key, value) VALUES (?, ?, ?, ?)
                        ON CONFLICT (group_name, version, key) DO UPDATE SET value = excluded.value
                        """, arguments: [group, version, key, value])
            } else {
                try db.execute(
                    sql: "DELETE FROM model_tag WHERE group_name = ? AND version = ? AND key = ?",
                    arguments: [group, version, key])
            }
        }
    }

    /// The tags of a model version.
    public func modelTags(group: String, version: Int) throws -> [String: String] {
        try writer.read { db in
            var tags: [String: String] = [:]
            for row in try Row.fetchAll(
                db, sql: "SELECT key, value FROM model_tag WHERE group_name = ? AND version = ?",
                arguments: [group, version])
            {
                tags[row["key"]] = row["value"]
            }
            return tags
        }
    }
}
