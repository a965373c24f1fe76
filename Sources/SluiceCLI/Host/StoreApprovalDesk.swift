import Foundation
import SluiceCore
import SluiceEngine
import SluiceServer
import SluiceStore

/// The server's approval pages backed by the execution store: tokens are looked up and decided by their hash.
struct StoreApprovalDesk: ApprovalDesk {
    let store: SQLiteStore
    /// Rung after a decision, so an execution waiting in this process continues at once.
    var bell: ApprovalBell?

    func approval(token: String) async throws -> ApprovalView? {
        guard let record = try store.approval(tokenHash: SHA256.hex(token)) else { return nil }
        return try view(record)
    }

    func decide(token: String, approve: Bool, reason: String) async throws -> ApprovalVerdict {
        let hash = SHA256.hex(token)
        do {
            let decided = try store.decideApproval(
                tokenHash: hash, approve: approve, reason: reason.isEmpty && !approve ? "no reason given" : reason,
                now: Date().timeIntervalSince1970)
            bell?.ring()
            return .decided(try view(decided))
        } catch let error as StoreError {
            guard error.code != "unknown-token", let record = try store.approval(tokenHash: hash) else {
                return .unknownToken
            }
            return .gone(try view(record))
        }
    }

    private func view(_ record: ApprovalRecord) throws -> ApprovalView {
        let state: ApprovalView.State
        switch record.decision {
        case .approved: state = .approved
        case .rejected(let reason): state = .rejected(reason: reason)
        case .pending:
            let expired = record.expiresAt.map { Date().timeIntervalSince1970 >= $0 } ?? false
            state = expired ? .expired : .pending
        }
        let pipeline = try store.execution(id: record.executionID)?.pipelineName ?? ""
        return ApprovalView(
            executionID: record.executionID, pipeline: pipeline, step: record.step, message: record.message,
            state: state, expiresAt: record.expiresAt)
    }
}
