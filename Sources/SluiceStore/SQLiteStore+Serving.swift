public import Foundation
import GRDB
public import SluiceCore

extension SQLiteStore: APIKeyStoring, ServingChangeCounting {
    /// The key whose hash is `hashHex` (revoked or not), nil when there is none.
    public func apiKey(hashHex: String) throws -> StoredAPIKey? {
        try writer.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM api_key WHERE hash = ?", arguments: [hashHex]).map { row in
                StoredAPIKey(
                    id: row["id"], name: row["name"], hashHex: row["hash"], createdAt: row["created_at"],
                    revokedAt: row["revoked_at"], rate: row["rate"], burst: row["burst"],
                    dailyQuota: row["daily_quota"], monthlyQuota: row["monthly_quota"], endpoint: row["endpoint"])
            }
        }
    }
}

extension SQLiteStore {
    /// Turns predict-by-id on (or, with nil, off) for an existing endpoint; a running server picks it up at its
    /// next poll (the endpoint row's update moves the serving change counter).
    public func setFeatureLookup(endpoint: String, _ lookup: FeatureLookup?) throws {
        if let lookup {
            guard !lookup.group.isEmpty, !lookup.idField.isEmpty else {
                throw EndpointError(
                    .invalidDeployment,
                    "--features and --id-field must not be empty; e.g. --features users --id-field user_id")
            }
            for route in [lookup.featuresRoute, lookup.predictRoute].compactMap({ $0 }) where !route.hasPrefix("/") {
                throw EndpointError(
                    .invalidDeployment, "route '\(route)' must be a path starting with '/', e.g. /predict")
            }
        }
        let json = try lookup.map { String(decoding: try JSONEncoder().encode($0), as: UTF8.self) }
        try write { db in
            try db.execute(sql: "UPDATE endpoint SET feature_lookup = ? WHERE name = ?", arguments: [json, endpoint])
            guard db.changesCount == 1 else {
                let known = try String.fetchAll(db, sql: "SELECT name FROM endpoint ORDER BY name")
                throw EndpointError(
                    .unknownEndpoint,
                    "no endpoint '\(endpoint)' (endpoints: \(known.isEmpty ? "none yet" : known.joined(separator: ", "))); "
                        + "deploy a model to it first with `sluice endpoints deploy \(endpoint) Group/N`")
            }
        }
    }

    static func featureLookup(json: String?) -> FeatureLookup? {
        json.flatMap { try? JSONDecoder().decode(FeatureLookup.self, from: Data($0.utf8)) }
    }
}
