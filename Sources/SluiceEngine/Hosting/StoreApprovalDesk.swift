public import SluiceCore

/// The server's approval pages backed by the execution store: tokens are looked up and decided by their hash.
@MemberwiseInit
public struct StoreApprovalDesk: ApprovalDesk {
    let store: any ExecutionStore & ApprovalStoring
    /// Rung after a decision, so an execution waiting in this process continues at once.
    let bell: ApprovalBell?
    var clock: any EngineClock = SystemClock()

    public func approval(token: String) async throws -> ApprovalView? {
        guard let record = try store.approval(tokenHash: SHA256.hex(token)) else { return nil }
        return try view(record)
    }

    public func decide(token: String, approve: Bool, reason: String) async throws -> ApprovalVerdict {
        try decide(tokenHash: SHA256.hex(token), approve: approve, reason: reason)
    }

    /// Decides by the token's hash, as the console's inbox does (it lists waiting approvals, whose tokens are never
    /// stored); the same compare-and-set, so a token still works once however it is presented.
    public func decide(tokenHash hash: String, approve: Bool, reason: String) throws -> ApprovalVerdict {
        do {
            let decided = try store.decideApproval(
                tokenHash: hash, approve: approve, reason: reason.isEmpty && !approve ? "no reason given" : reason,
                now: clock.now)
            bell?.ring()
            return .decided(try view(decided))
        } catch {
            // Refused: an unknown token, or one already used or expired. A fault on a still-open approval is not
            // a verdict.
            guard let record = try store.approval(tokenHash: hash) else { return .unknownToken }
            let view = try view(record)
            if view.state == .pending { throw error }
            return .gone(view)
        }
    }

    private func view(_ record: ApprovalRecord) throws -> ApprovalView {
        let state: ApprovalView.State
        switch record.decision {
        case .approved: state = .approved
        case .rejected(let reason): state = .rejected(reason: reason)
        case .pending:
            let expired = record.expiresAt.map { clock.now >= $0 } ?? false
            state = expired ? .expired : .pending
        }
        let pipeline = try store.execution(id: record.executionID)?.pipelineName ?? ""
        return ApprovalView(
            executionID: record.executionID, pipeline: pipeline, step: record.step, message: record.message,
            state: state, expiresAt: record.expiresAt)
    }
}
