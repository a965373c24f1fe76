import SluiceCore

/// Sends an Approval step's `notify` recipients the link that opens its confirmation page (a GET there only shows
/// the page; deciding takes the page's POST), then passes every notice on to `next`.
@MemberwiseInit
public struct ApprovalMailer: ExecutionObserver {
    /// Sends one message; returns where it went (an SMTP server, an outbox file).
    public typealias Deliver =
        @Sendable (
            _ recipients: [String], _ subject: String, _ body: String, _ id: String
        ) async throws -> String

    /// Receives every notice first.
    let next: any ExecutionObserver
    let executionID: String
    /// Sends the message.
    let deliver: Deliver
    /// Where the server answers, for the link.
    let baseURL: @Sendable () -> String
    /// Told where each message went, or why it could not be sent; after a failed delivery the execution keeps
    /// waiting (the CLI and the link still work).
    let report: @Sendable (String) -> Void

    public func notify(_ notice: EngineNotice) {
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
        // Named as `NotifyDelivery.messageID` names the notify step's messages: <execution>-<kind>-<Step>.
        let id = "\(executionID)-approval-\(step.filter { $0.isLetter || $0.isNumber })"
        let (deliver, report) = (deliver, report)
        Task {
            do {
                let destination = try await deliver(recipients, subject, body, id)
                report("      approval link sent to \(recipients.joined(separator: ", ")): \(destination)")
            } catch {
                report("      could not send the approval link to \(recipients.joined(separator: ", ")): \(error)")
            }
        }
    }
}
