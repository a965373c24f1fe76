/// What the server shows about one approval request.
@MemberwiseInit
public struct ApprovalView: Sendable, Hashable {
    /// Where the approval stands.
    public enum State: Sendable, Hashable {
        case pending
        case approved
        case rejected(reason: String)
        /// No decision came before the step's timeout.
        case expired
    }

    /// The waiting execution.
    public var executionID: String
    /// Its pipeline's name.
    public var pipeline: String
    /// The Approval step.
    public var step: String
    /// The approval prompt (the step's `message`).
    public var message: String
    public var state: State
    /// When the request times out (seconds since 1970), if it does.
    public var expiresAt: Double?
}

/// The answer to a decision.
public enum ApprovalVerdict: Sendable, Hashable {
    /// The decision was recorded; the execution continues (or fails, on a rejection).
    case decided(ApprovalView)
    /// No approval has this token.
    case unknownToken
    /// The token was already used, or the request expired: tokens work once.
    case gone(ApprovalView)
}

/// Looks up and decides approvals by their single-use token; the server's seam onto the execution store.
///
/// A conformer hashes the token the way the engine stored it, records a decision at most once per token (a
/// compare-and-set in the store, so two racing POSTs cannot both win) and commits it durably before returning.
/// Only infrastructure faults throw; an unknown or used token is a verdict.
public protocol ApprovalDesk: Sendable {
    /// The approval this token opens, or nil when no approval has it.
    func approval(token: String) async throws -> ApprovalView?
    /// Approves or rejects once.
    /// - Parameters:
    ///   - token: the single-use token from the approval's links.
    ///   - approve: true to approve, false to reject.
    ///   - reason: why (recorded; shown as the step's failure cause on a rejection).
    func decide(token: String, approve: Bool, reason: String) async throws -> ApprovalVerdict
}
