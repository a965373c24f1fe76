import Foundation
import GRDB
public import SluiceCore

// Approval steps: waiting approvals, single-use token decisions, executions to adopt.
extension SQLiteStore: ApprovalStoring, ExecutionAdopting {
    public func approval(executionID: String, step: String) throws -> ApprovalRecord? {
        try writer.read { db in
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
        try writer.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM approval WHERE token_hash = ?", arguments: [tokenHash]).map(
                Self.approval)
        }
    }

    /// The executions a server may have to adopt, oldest first: every running one, and the queued ones that some
    /// process once waited on or that nobody claimed in time. `claim` then takes those whose process is gone.
    public func executionsToAdopt(now: Double) throws -> [String] {
        try writer.read { db in
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
}
