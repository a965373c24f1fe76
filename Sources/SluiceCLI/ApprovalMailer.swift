import Foundation
import SluiceEngine
import SluiceExecutors

/// Sends an Approval step's `notify` recipients the link that opens its confirmation page (a GET there only shows
/// the page; deciding takes the page's POST), then passes every notice on to `next`.
struct ApprovalMailer: ExecutionObserver {
    let next: any ExecutionObserver
    let executionID: String
    let delivery: NotifyDelivery
    /// Where the server answers, for the link.
    let baseURL: @Sendable () -> String
    /// Where a failed delivery is reported; the execution keeps waiting (the CLI and the link still work).
    let report: @Sendable (String) -> Void

    func notify(_ notice: EngineNotice) {
        next.notify(notice)
        guard case .approvalRequested(let step, let token, let message, let recipients) = notice, !recipients.isEmpty
        else { return }
        let subject = "Approval needed: \(step) (execution \(executionID))"
        let body = """
            \(message)

            Open to approve or reject: \(baseURL())/approvals/\(token)
            (the page asks to confirm; opening the link decides nothing)

            Or from a terminal: sluice approve \(token)
                                sluice reject \(token) --reason "…"
            """
        let (delivery, report, id) = (
            delivery, report, NotifyDelivery.messageID(execution: executionID, kind: "approval", step: step)
        )
        Task {
            do {
                let destination = try await delivery.deliver(to: recipients, subject: subject, body: body, id: id)
                report("      approval link sent to \(recipients.joined(separator: ", ")): \(destination)")
            } catch {
                report("      could not send the approval link to \(recipients.joined(separator: ", ")): \(error)")
            }
        }
    }
}
