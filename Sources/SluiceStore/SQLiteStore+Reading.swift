import Foundation
import GRDB
public import SluiceCore

// Executions, steps, attempts and events as recorded.
extension SQLiteStore {
    public func execution(id: String) throws -> ExecutionRecord? {
        try writer.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM execution WHERE id = ?", arguments: [id]).map(Self.execution)
        }
    }

    /// The newest executions first; `prefix` matches the start of an id.
    public func executions(limit: Int = 50, idPrefix: String? = nil) throws -> [ExecutionRecord] {
        try writer.read { db in
            try Row.fetchAll(
                db,
                sql: "SELECT * FROM execution WHERE id LIKE ? ORDER BY created_at DESC, id DESC LIMIT ?",
                arguments: [(idPrefix ?? "") + "%", limit]
            ).map(Self.execution)
        }
    }

    static func execution(_ row: Row) -> ExecutionRecord {
        let error: String? = row["error"]
        return ExecutionRecord(
            id: row["id"], pipelineName: row["pipeline_name"], pipelineHash: row["pipeline_hash"],
            parameters: JSONValue.parse(row["parameters"])?.object ?? [:],
            status: ExecutionStatus(rawValue: row["status"]) ?? .failed,
            error: error.map { StepFailure($0, cause: row["error_cause"] ?? "") }, createdAt: row["created_at"],
            startedAt: row["started_at"], finishedAt: row["finished_at"], ownerPID: row["owner_pid"],
            leaseExpiresAt: row["lease_expires_at"], cancelRequested: row["cancel_requested"])
    }

    public func steps(executionID: String) throws -> [StepRecord] {
        try writer.read { db in
            try Row.fetchAll(
                db, sql: "SELECT * FROM step WHERE execution_id = ? ORDER BY position", arguments: [executionID]
            ).map { row in
                let error: String? = row["error"]
                let outputs: String? = row["outputs"]
                return StepRecord(
                    name: row["name"], status: StepStatus(rawValue: row["status"]) ?? .pending,
                    attempt: row["attempt"], outputs: outputs.flatMap(JSONValue.parse)?.object,
                    conditionResult: row["condition_result"],
                    error: error.map { StepFailure($0, cause: row["error_cause"] ?? "") }, caughtBy: row["caught_by"],
                    cacheKey: row["cache_key"], cacheHit: row["cache_hit"], dueAt: row["due_at"],
                    startedAt: row["started_at"], finishedAt: row["finished_at"])
            }
        }
    }

    public func attempts(executionID: String) throws -> [AttemptRecord] {
        try writer.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT a.* FROM attempt a JOIN step s ON s.execution_id = a.execution_id AND s.name = a.step
                    WHERE a.execution_id = ? ORDER BY s.position, a.number
                    """, arguments: [executionID]
            ).map { row in
                let error: String? = row["error"]
                return AttemptRecord(
                    step: row["step"], number: row["number"], status: AttemptStatus(rawValue: row["status"]) ?? .failed,
                    startedAt: row["started_at"], finishedAt: row["finished_at"],
                    error: error.map { StepFailure($0, cause: row["error_cause"] ?? "") })
            }
        }
    }

    /// The event log of an execution after `sequence`, in order.
    public func events(executionID: String, after sequence: Int64 = 0) throws -> [ExecutionEvent] {
        try writer.read { db in
            try Row.fetchAll(
                db, sql: "SELECT * FROM event WHERE execution_id = ? AND sequence > ? ORDER BY sequence",
                arguments: [executionID, sequence]
            ).map {
                ExecutionEvent(
                    sequence: $0["sequence"], time: $0["time"], step: $0["step"], attempt: $0["attempt"],
                    kind: $0["kind"], message: $0["message"])
            }
        }
    }

    public func pipelineDefinition(hash: String) throws -> String? {
        try writer.read { db in
            try String.fetchOne(db, sql: "SELECT definition FROM pipeline WHERE hash = ?", arguments: [hash])
        }
    }
}
