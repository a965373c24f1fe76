import Foundation
import GRDB
public import SluiceCore

// Creating, claiming, leasing, cancelling and retrying executions, and applying their changes.
extension SQLiteStore {
    public func createExecution(_ execution: NewExecution) throws {
        try write { db in try insertExecution(db, execution) }
    }

    /// Inserts a new execution inside the caller's transaction (a trigger commits its firing in the same one).
    func insertExecution(_ db: Database, _ execution: NewExecution) throws {
        try db.execute(
            sql: "INSERT OR IGNORE INTO pipeline (hash, name, definition, created_at) VALUES (?, ?, ?, ?)",
            arguments: [
                execution.pipelineHash, execution.pipelineName, execution.pipelineDefinition, execution.createdAt,
            ])
        try db.execute(
            sql: """
                INSERT INTO execution (id, pipeline_hash, pipeline_name, parameters, status, max_concurrent,
                    created_at, lease_expires_at) VALUES (?, ?, ?, ?, 'queued', ?, ?, ?)
                """,
            arguments: [
                execution.id, execution.pipelineHash, execution.pipelineName,
                JSONValue.object(execution.parameters).canonicalJSON, max(1, execution.maxConcurrentExecutions),
                execution.createdAt, execution.createdAt + Self.claimGraceSeconds,
            ])
        try db.execute(
            sql: "INSERT INTO step (execution_id, name, position, status) VALUES (?, ?, ?, 'pending')",
            forEach: execution.stepNames.enumerated()
        ) { position, name in
            [execution.id, name, position]
        }
        try appendEvent(
            db, execution.id, time: execution.createdAt, step: nil, attempt: nil, kind: "created",
            message: execution.pipelineName)
    }

    /// How long a new or retried execution is left to the process that made it before a server adopts it.
    static let claimGraceSeconds = 30.0

    /// A queued execution is held too: a process waiting for a slot keeps a lease on it (renewed at every try), so a
    /// server adopts it only once that process is gone.
    public func claim(
        executionID: String, owner: LeaseOwner, now: Double, leaseSeconds: Double,
        ownerIsAlive: @Sendable (Int) -> Bool
    ) throws -> ClaimResult {
        try write { db in
            guard
                let row = try Row.fetchOne(
                    db,
                    sql: """
                        SELECT status, pipeline_hash, max_concurrent, owner_id, owner_pid, lease_expires_at
                        FROM execution WHERE id = ?
                        """, arguments: [executionID])
            else { return .notFound }
            let status = ExecutionStatus(rawValue: row["status"]) ?? .failed
            if status.isFinished { return .finished(status) }
            let ownerID: String? = row["owner_id"]
            if let ownerID, ownerID != owner.id, let pid: Int = row["owner_pid"],
                let expiry: Double = row["lease_expires_at"], expiry > now, ownerIsAlive(pid)
            {
                return .ownedByOther(pid: pid)
            }
            if status == .queued {
                let running =
                    try Int.fetchOne(
                        db,
                        sql: """
                            SELECT count(*) FROM execution
                            WHERE pipeline_hash = ? AND status = 'running' AND lease_expires_at > ? AND id <> ?
                            """, arguments: [row["pipeline_hash"] as String, now, executionID]) ?? 0
                if running >= (row["max_concurrent"] as Int) {
                    try db.execute(
                        sql: "UPDATE execution SET owner_id = ?, owner_pid = ?, lease_expires_at = ? WHERE id = ?",
                        arguments: [owner.id, owner.pid, now + leaseSeconds, executionID])
                    return .queued(running: running)
                }
            }
            try db.execute(
                sql: """
                    UPDATE execution SET status = 'running', owner_id = ?, owner_pid = ?, lease_expires_at = ?,
                        started_at = coalesce(started_at, ?), finished_at = NULL, error = NULL, error_cause = NULL
                    WHERE id = ?
                    """, arguments: [owner.id, owner.pid, now + leaseSeconds, now, executionID])
            try appendEvent(
                db, executionID, time: now, step: nil, attempt: nil, kind: "claimed",
                message: "pid \(owner.pid)")
            return .claimed
        }
    }

    public func renewLease(executionID: String, owner: LeaseOwner, now: Double, leaseSeconds: Double) throws -> (
        held: Bool, cancelRequested: Bool
    ) {
        try write { db in
            try db.execute(
                sql: "UPDATE execution SET lease_expires_at = ? WHERE id = ? AND owner_id = ? AND status = 'running'",
                arguments: [now + leaseSeconds, executionID, owner.id])
            let held = db.changesCount == 1
            let cancel =
                try Bool.fetchOne(
                    db, sql: "SELECT cancel_requested FROM execution WHERE id = ?", arguments: [executionID])
                ?? false
            return (held, cancel)
        }
    }

    /// Asks the owner of a running execution to cancel it (noticed at its next heartbeat); a queued one is
    /// cancelled at once. Returns the status the execution had.
    public func requestCancel(executionID: String, now: Double) throws -> ExecutionStatus? {
        try write { db in
            guard
                let status = try String.fetchOne(
                    db, sql: "SELECT status FROM execution WHERE id = ?", arguments: [executionID]
                ).flatMap(ExecutionStatus.init(rawValue:))
            else { return nil }
            // A finished execution has nothing to cancel: refuse without writing to its log.
            guard !status.isFinished else { return status }
            if status == .queued {
                try db.execute(
                    sql: "UPDATE execution SET status = 'cancelled', finished_at = ? WHERE id = ?",
                    arguments: [now, executionID])
            } else if status == .running {
                try db.execute(sql: "UPDATE execution SET cancel_requested = 1 WHERE id = ?", arguments: [executionID])
            }
            try appendEvent(db, executionID, time: now, step: nil, attempt: nil, kind: "cancel-requested", message: "")
            return status
        }
    }

    /// Resets steps to pending for `sluice retry` and puts the execution back in the queue.
    /// - Parameter steps: the steps to run again (the failed, skipped and cancelled ones, or those from `--from`).
    public func prepareRetry(executionID: String, steps: [String], now: Double) throws {
        try write { db in
            for name in steps {
                // A succeeded step run again (`--from`) starts its Map afresh; a failed one keeps its finished
                // iterations, so a redrive re-runs only the others.
                try db.execute(
                    sql: """
                        DELETE FROM map_item WHERE execution_id = ? AND step = ? AND EXISTS (
                            SELECT 1 FROM step WHERE execution_id = ? AND name = ? AND status = 'succeeded')
                        """, arguments: [executionID, name, executionID, name])
                try db.execute(
                    sql: """
                        UPDATE step SET status = 'pending', outputs = NULL, condition_result = NULL, error = NULL,
                            error_cause = NULL, caught_by = NULL, cache_hit = 0, due_at = NULL, finished_at = NULL
                        WHERE execution_id = ? AND name = ? AND status NOT IN ('running', 'waiting')
                        """, arguments: [executionID, name])
            }
            try db.execute(
                sql: """
                    UPDATE execution SET status = 'queued', cancel_requested = 0, owner_id = NULL, owner_pid = NULL,
                        lease_expires_at = ?, finished_at = NULL WHERE id = ?
                    """, arguments: [now + Self.claimGraceSeconds, executionID])
            try appendEvent(
                db, executionID, time: now, step: nil, attempt: nil, kind: "retry",
                message: steps.joined(separator: ", "))
        }
    }

    public func apply(_ changes: ExecutionChanges) throws {
        try write { db in
            let id = changes.executionID
            let update = try db.cachedStatement(
                sql: """
                    UPDATE step SET status = ?, attempt = ?, outputs = ?, condition_result = ?, error = ?,
                        error_cause = ?, caught_by = ?, cache_key = ?, cache_hit = ?, due_at = ?, started_at = ?,
                        finished_at = ?
                    WHERE execution_id = ? AND name = ? AND status = ?
                    """)
            for transition in changes.steps {
                let record = transition.record
                guard transition.from.canTransition(to: record.status) else {
                    throw StoreError(
                        code: "illegal-transition",
                        message: "step '\(record.name)': \(transition.from.rawValue) → \(record.status.rawValue)")
                }
                try update.execute(arguments: [
                    record.status.rawValue, record.attempt, record.outputs.map { JSONValue.object($0).canonicalJSON },
                    record.conditionResult, record.error?.error, record.error?.cause, record.caughtBy,
                    record.cacheKey, record.cacheHit, record.dueAt, record.startedAt, record.finishedAt, id,
                    record.name, transition.from.rawValue,
                ])
                guard db.changesCount == 1 else {
                    throw StoreError(
                        code: "transition-conflict",
                        message: "step '\(record.name)' of \(id) is no longer \(transition.from.rawValue)")
                }
            }
            try db.execute(
                sql: """
                    INSERT INTO attempt (execution_id, step, number, status, started_at, finished_at, error,
                        error_cause, takeover) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT (execution_id, step, number) DO UPDATE SET status = excluded.status,
                        finished_at = excluded.finished_at, error = excluded.error, error_cause = excluded.error_cause,
                        takeover = coalesce(excluded.takeover, attempt.takeover)
                    """, forEach: changes.attempts
            ) { attempt in
                [
                    id, attempt.step, attempt.number, attempt.status.rawValue, attempt.startedAt, attempt.finishedAt,
                    attempt.error?.error, attempt.error?.cause, attempt.takeover?.rawValue,
                ]
            }
            try db.execute(
                sql: "INSERT OR IGNORE INTO artifact (hash, kind, size, created_at) VALUES (?, ?, ?, ?)",
                forEach: changes.artifacts
            ) { use in
                [use.artifact.hash, use.artifact.kind.rawValue, use.artifact.size, changes.now]
            }
            try db.execute(
                sql: """
                    INSERT OR IGNORE INTO artifact_use (artifact_hash, execution_id, step, attempt, role, port, path)
                    VALUES (?, ?, ?, ?, ?, ?, ?)
                    """, forEach: changes.artifacts
            ) { use in
                [use.artifact.hash, id, use.step, use.attempt, use.role.rawValue, use.port, use.path]
            }
            try db.execute(
                sql: """
                    INSERT INTO approval (token_hash, execution_id, step, attempt, status, message, created_at,
                        expires_at) VALUES (?, ?, ?, ?, 'pending', ?, ?, ?)
                    """, forEach: changes.approvals
            ) { approval in
                [
                    approval.tokenHash, id, approval.step, approval.attempt, approval.message, changes.now,
                    approval.expiresAt,
                ]
            }
            try db.execute(
                sql: """
                    INSERT OR REPLACE INTO cache_entry (key, execution_id, step, attempt, outputs, created_at,
                        components) VALUES (?, ?, ?, ?, ?, ?, ?)
                    """, forEach: changes.cacheEntries
            ) { entry in
                [
                    entry.key, id, entry.step, entry.attempt, JSONValue.object(entry.outputs).canonicalJSON,
                    changes.now, changes.cacheComponents[entry.key]?.canonicalJSON,
                ]
            }
            try db.execute(
                sql: """
                    INSERT OR REPLACE INTO map_item (execution_id, step, item_index, item_hash, attempt, outputs,
                        created_at) VALUES (?, ?, ?, ?, ?, ?, ?)
                    """, forEach: changes.mapItems
            ) { item in
                [
                    id, item.step, item.index, item.itemHash, item.attempt,
                    JSONValue.object(item.outputs).canonicalJSON, changes.now,
                ]
            }
            try db.execute(
                sql: "INSERT INTO event (execution_id, time, step, attempt, kind, message) VALUES (?, ?, ?, ?, ?, ?)",
                forEach: changes.events
            ) { event in
                [id, event.time, event.step, event.attempt, event.kind, event.message]
            }
            if let (status, error) = changes.executionStatus {
                let release = status.isFinished
                try db.execute(
                    sql: """
                        UPDATE execution SET status = ?, error = ?, error_cause = ?,
                            finished_at = CASE WHEN ? THEN ? ELSE finished_at END,
                            owner_id = CASE WHEN ? THEN NULL ELSE owner_id END,
                            owner_pid = CASE WHEN ? THEN NULL ELSE owner_pid END,
                            lease_expires_at = CASE WHEN ? THEN NULL ELSE lease_expires_at END
                        WHERE id = ?
                        """,
                    arguments: [
                        status.rawValue, error?.error, error?.cause, release, changes.now, release, release, release,
                        id,
                    ])
            }
        }
    }

    func appendEvent(
        _ db: Database, _ executionID: String, time: Double, step: String?, attempt: Int?, kind: String,
        message: String
    ) throws {
        try db.execute(
            sql: "INSERT INTO event (execution_id, time, step, attempt, kind, message) VALUES (?, ?, ?, ?, ?, ?)",
            arguments: [executionID, time, step, attempt, kind, message])
    }
}
