/// Sends an Approval step's `notify` recipients the link that opens its confirmation page (a GET there only shows
/// the page; deciding takes the page's POST), then passes every notice on to `next`.
public struct ApprovalMailer: ExecutionObserver {
    /// Sends one message; returns where it went (an SMTP server, an outbox file).
    public typealias Deliver =
        @Sendable (
            _ recipients: [String], _ subject: String, _ body: String, _ id: String
        ) async throws -> String

    let next: any ExecutionObserver
    let executionID: String
    let deliver: Deliver
    /// Where the server answers, for the link.
    let baseURL: @Sendable () -> String
    /// Where a failed delivery is reported; the execution keeps waiting (the CLI and the link still work).
    let report: @Sendable (String) -> Void

    /// - Parameters:
    ///   - next: receives every notice first.
    ///   - deliver: sends the message.
    ///   - baseURL: where the server answers, for the link.
    ///   - report: told where each message went, or why it could not be sent.
    public init(
        next: any ExecutionObserver, executionID: String, deliver: @escaping Deliver,
        baseURL: @escaping @Sendable () -> String, report: @escaping @Sendable (String) -> Void
    ) {
        self.next = next
        self.executionID = executionID
        self.deliver = deliver
        self.baseURL = baseURL
        self.report = report
    }

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
        let (deliver, report, id) = (deliver, report, "\(executionID)-approval-\(step.filter(\.isLetter))")
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
