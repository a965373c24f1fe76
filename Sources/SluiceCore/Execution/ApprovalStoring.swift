/// Approvals looked up and decided by the hash of their single-use token.
///
/// A conformer records a decision at most once per token (a compare-and-set, so two racing decisions cannot both
/// win) and commits it durably before returning.
public protocol ApprovalStoring: Sendable {
    /// The approval whose token hashes to `tokenHash`, nil when there is none.
    func approval(tokenHash: String) throws -> ApprovalRecord?
    /// Approves or rejects a pending, unexpired approval; throws when the token is unknown, used or expired.
    func decideApproval(tokenHash: String, approve: Bool, reason: String, now: Double) throws -> ApprovalRecord
}

/// Finds executions a live process may take over.
public protocol ExecutionAdopting: Sendable {
    /// Executions whose owner is gone (running, or queued and waiting for a slot) at `now`.
    func executionsToAdopt(now: Double) throws -> [String]
}
