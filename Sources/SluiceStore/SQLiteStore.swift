public import Foundation
import GRDB
public import SluiceCore

/// The metadata store: one SQLite file in WAL mode, shared safely by many processes.
///
/// Every method is one transaction. Writers wait for each other (busy timeout) instead of failing with
/// "database is locked"; how far a commit has reached when a method returns is the store's `Durability`.
public final class SQLiteStore: ExecutionStore {
    /// What a committed transaction survives. The database file is never corrupted in either mode.
    public enum Durability: String, Sendable, CaseIterable {
        /// Every commit is synced to disk (`synchronous=FULL`): it survives power loss and an OS crash.
        case power
        /// Every commit has reached the OS (WAL with `synchronous=NORMAL`): it survives any crash or `kill -9` of
        /// Sluice itself; only the last commits before a power loss or OS crash may be rolled back.
        case process
    }

    let pool: DatabasePool

    /// Opens (creating and migrating if needed) the database at `path`.
    public init(path: String, durability: Durability = .power) throws {
        var configuration = Configuration()
        configuration.busyMode = .timeout(60)
        configuration.foreignKeysEnabled = true
        pool = try DatabasePool(path: path, configuration: configuration)
        // DatabasePool resets `synchronous` while preparing connections; set it on the writer once opened.
        let synchronous = durability == .power ? "FULL" : "NORMAL"
        try pool.barrierWriteWithoutTransaction { db in try db.execute(sql: "PRAGMA synchronous = \(synchronous)") }
        try Self.migrate(pool)
    }

    /// Runs the migrations, tolerating another process doing the same at the same moment.
    private static func migrate(_ pool: DatabasePool) throws {
        let migrator = Migrations.migrator
        for attempt in 0..<5 {
            do {
                if try pool.read({ try migrator.hasCompletedMigrations($0) }) { return }
                try migrator.migrate(pool)
                return
            } catch {
                if attempt == 4 { throw error }
                usleep(50_000)
            }
        }
    }

    func write<T>(_ body: (Database) throws -> T) throws -> T {
        try pool.writeWithoutTransaction { db in
            var result: T?
            try db.inTransaction(.immediate) {
                result = try body(db)
                return .commit
            }
            return result!
        }
    }

    // MARK: Executions

    public func createExecution(_ execution: NewExecution) throws {
        try write { db in
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
            let insert = try db.cachedStatement(
                sql: "INSERT INTO step (execution_id, name, position, status) VALUES (?, ?, ?, 'pending')")
            for (position, name) in execution.stepNames.enumerated() {
                try insert.execute(arguments: [execution.id, name, position])
            }
            try appendEvent(
                db, execution.id, time: execution.createdAt, step: nil, attempt: nil, kind: "created",
                message: execution.pipelineName)
        }
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
            let upsert = try db.cachedStatement(
                sql: """
                    INSERT INTO attempt (execution_id, step, number, status, started_at, finished_at, error,
                        error_cause) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT (execution_id, step, number) DO UPDATE SET status = excluded.status,
                        finished_at = excluded.finished_at, error = excluded.error, error_cause = excluded.error_cause
                    """)
            for attempt in changes.attempts {
                try upsert.execute(arguments: [
                    id, attempt.step, attempt.number, attempt.status.rawValue, attempt.startedAt, attempt.finishedAt,
                    attempt.error?.error, attempt.error?.cause,
                ])
            }
            for use in changes.artifacts {
                try db.execute(
                    sql: "INSERT OR IGNORE INTO artifact (hash, kind, size, created_at) VALUES (?, ?, ?, ?)",
                    arguments: [use.artifact.hash, use.artifact.kind.rawValue, use.artifact.size, changes.now])
                try db.execute(
                    sql: """
                        INSERT OR IGNORE INTO artifact_use (artifact_hash, execution_id, step, attempt, role, port, path)
                        VALUES (?, ?, ?, ?, ?, ?, ?)
                        """,
                    arguments: [use.artifact.hash, id, use.step, use.attempt, use.role.rawValue, use.port, use.path])
            }
            for approval in changes.approvals {
                try db.execute(
                    sql: """
                        INSERT INTO approval (token_hash, execution_id, step, attempt, status, message, created_at,
                            expires_at) VALUES (?, ?, ?, ?, 'pending', ?, ?, ?)
                        """,
                    arguments: [
                        approval.tokenHash, id, approval.step, approval.attempt, approval.message, changes.now,
                        approval.expiresAt,
                    ])
            }
            for entry in changes.cacheEntries {
                try db.execute(
                    sql: """
                        INSERT OR REPLACE INTO cache_entry (key, execution_id, step, attempt, outputs, created_at,
                            components) VALUES (?, ?, ?, ?, ?, ?, ?)
                        """,
                    arguments: [
                        entry.key, id, entry.step, entry.attempt, JSONValue.object(entry.outputs).canonicalJSON,
                        changes.now, changes.cacheComponents[entry.key]?.canonicalJSON,
                    ])
            }
            for item in changes.mapItems {
                try db.execute(
                    sql: """
                        INSERT OR REPLACE INTO map_item (execution_id, step, item_index, item_hash, attempt, outputs,
                            created_at) VALUES (?, ?, ?, ?, ?, ?, ?)
                        """,
                    arguments: [
                        id, item.step, item.index, item.itemHash, item.attempt,
                        JSONValue.object(item.outputs).canonicalJSON, changes.now,
                    ])
            }
            let insertEvent = try db.cachedStatement(
                sql: "INSERT INTO event (execution_id, time, step, attempt, kind, message) VALUES (?, ?, ?, ?, ?, ?)")
            for event in changes.events {
                try insertEvent.execute(arguments: [
                    id, event.time, event.step, event.attempt, event.kind, event.message,
                ])
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

    // MARK: Reading

    public func execution(id: String) throws -> ExecutionRecord? {
        try pool.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM execution WHERE id = ?", arguments: [id]).map(Self.execution)
        }
    }

    /// The newest executions first; `prefix` matches the start of an id.
    public func executions(limit: Int = 50, idPrefix: String? = nil) throws -> [ExecutionRecord] {
        try pool.read { db in
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
        try pool.read { db in
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
        try pool.read { db in
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
        try pool.read { db in
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
        try pool.read { db in
            try String.fetchOne(db, sql: "SELECT definition FROM pipeline WHERE hash = ?", arguments: [hash])
        }
    }

    // MARK: Approvals

    public func approval(executionID: String, step: String) throws -> ApprovalRecord? {
        try pool.read { db in
            try Row.fetchOne(
                db,
                sql:
                    "SELECT * FROM approval WHERE execution_id = ? AND step = ? ORDER BY attempt DESC, created_at DESC",
                arguments: [executionID, step]
            ).map(Self.approval)
        }
    }

    static func approval(_ row: Row) -> ApprovalRecord {
        let decision: ApprovalDecision
        switch row["status"] as String {
        case "approved": decision = .approved
        case "rejected": decision = .rejected(reason: row["reason"] ?? "")
        default: decision = .pending
        }
        return ApprovalRecord(
            executionID: row["execution_id"], step: row["step"], attempt: row["attempt"], decision: decision,
            message: row["message"], expiresAt: row["expires_at"])
    }

    /// The approval whose single-use token hashes to `tokenHash`, decided or not.
    public func approval(tokenHash: String) throws -> ApprovalRecord? {
        try pool.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM approval WHERE token_hash = ?", arguments: [tokenHash]).map(
                Self.approval)
        }
    }

    /// The executions a server may have to adopt, oldest first: every running one, and the queued ones that some
    /// process once waited on or that nobody claimed in time. `claim` then takes those whose process is gone.
    public func executionsToAdopt(now: Double) throws -> [String] {
        try pool.read { db in
            try String.fetchAll(
                db,
                sql: """
                    SELECT id FROM execution
                    WHERE status = 'running' OR (status = 'queued'
                        AND (owner_pid IS NOT NULL OR lease_expires_at IS NULL OR lease_expires_at <= ?))
                    ORDER BY created_at, id
                    """, arguments: [now])
        }
    }

    /// Records a decision on the approval whose token hashes to `tokenHash`. A token works once.
    public func decideApproval(tokenHash: String, approve: Bool, reason: String, now: Double) throws -> ApprovalRecord {
        try write { db in
            guard
                let row = try Row.fetchOne(
                    db, sql: "SELECT * FROM approval WHERE token_hash = ?", arguments: [tokenHash])
            else {
                throw StoreError(code: "unknown-token", message: "no approval has this token; check for a typo")
            }
            let record = Self.approval(row)
            guard record.decision == .pending else {
                throw StoreError(code: "token-used", message: "this token was already used (single-use)")
            }
            if let expiresAt = record.expiresAt, now >= expiresAt {
                throw StoreError(code: "token-expired", message: "the approval timed out before this decision")
            }
            try db.execute(
                sql: "UPDATE approval SET status = ?, reason = ?, decided_at = ? WHERE token_hash = ?",
                arguments: [approve ? "approved" : "rejected", reason, now, tokenHash])
            try appendEvent(
                db, record.executionID, time: now, step: record.step, attempt: record.attempt,
                kind: approve ? "approved" : "rejected", message: reason)
            var decided = record
            decided.decision = approve ? .approved : .rejected(reason: reason)
            return decided
        }
    }

    // MARK: Cache and lineage

    public func cachedOutputs(key: String, notBefore: Double?) throws -> (
        executionID: String, step: String, outputs: [String: JSONValue]
    )? {
        try pool.read { db in
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
        try pool.read { db in
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
        try pool.read { db in
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
        try pool.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT step, attempt, role, port, artifact_hash, path FROM artifact_use WHERE execution_id = ?
                    ORDER BY rowid
                    """, arguments: [executionID]
            ).map { ($0["step"], $0["attempt"], $0["role"], $0["port"], $0["artifact_hash"], $0["path"]) }
        }
    }

    private func appendEvent(
        _ db: Database, _ executionID: String, time: Double, step: String?, attempt: Int?, kind: String,
        message: String
    ) throws {
        try db.execute(
            sql: "INSERT INTO event (execution_id, time, step, attempt, kind, message) VALUES (?, ?, ?, ?, ?, ?)",
            arguments: [executionID, time, step, attempt, kind, message])
    }
}

/// A store operation refused: a conflict, a used token, an illegal transition.
public typealias StoreError = RequestError

extension JSONValue {
    static func parse(_ text: String) -> JSONValue? {
        try? JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
    }
}
