import Foundation
import GRDB
public import SluiceCore

// Cached step outputs, Map items and lineage.
extension SQLiteStore {
    public func cachedOutputs(key: String, notBefore: Double?) throws -> (
        executionID: String, step: String, outputs: [String: JSONValue]
    )? {
        try writer.read { db in
            guard
                let row = try Row.fetchOne(
                    db,
                    sql: """
                        SELECT execution_id, step, outputs FROM cache_entry WHERE key = ? AND created_at >= ?
                        ORDER BY created_at DESC LIMIT 1
                        """, arguments: [key, notBefore ?? 0])
            else { return nil }
            return (row["execution_id"], row["step"], JSONValue.parse(row["outputs"])?.object ?? [:])
        }
    }

    public func latestCacheComponents(step: String, pipelineName: String) throws -> JSONValue? {
        try writer.read { db in
            try String.fetchOne(
                db,
                sql: """
                    SELECT c.components FROM cache_entry c JOIN execution e ON e.id = c.execution_id
                    WHERE c.step = ? AND e.pipeline_name = ? AND c.components IS NOT NULL
                    ORDER BY c.created_at DESC LIMIT 1
                    """, arguments: [step, pipelineName]
            ).flatMap(JSONValue.parse)
        }
    }

    public func mapItems(executionID: String, step: String) throws -> [Int: MapItemRecord] {
        try writer.read { db in
            var items: [Int: MapItemRecord] = [:]
            let rows = try Row.fetchAll(
                db,
                sql: "SELECT item_index, item_hash, attempt, outputs FROM map_item WHERE execution_id = ? AND step = ?",
                arguments: [executionID, step])
            for row in rows {
                let index: Int = row["item_index"]
                items[index] = MapItemRecord(
                    step: step, index: index, itemHash: row["item_hash"], attempt: row["attempt"],
                    outputs: JSONValue.parse(row["outputs"])?.object ?? [:])
            }
            return items
        }
    }

    /// Artifacts an execution produced or consumed: (step, attempt, role, port, hash, path).
    public func lineage(executionID: String) throws -> [(
        step: String, attempt: Int, role: String, port: String, hash: String, path: String
    )] {
        try writer.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT step, attempt, role, port, artifact_hash, path FROM artifact_use WHERE execution_id = ?
                    ORDER BY rowid
                    """, arguments: [executionID]
            ).map { ($0["step"], $0["attempt"], $0["role"], $0["port"], $0["artifact_hash"], $0["path"]) }
        }
    }
}
