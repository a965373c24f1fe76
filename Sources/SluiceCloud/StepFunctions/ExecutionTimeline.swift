public import Foundation
public import SluiceCore

/// An execution's history as lines, the way `sluice show` draws a local one: a line when a state is entered and when
/// it is left, each failed attempt with its error, and the approvals the execution waits at.
public struct ExecutionTimeline: Sendable {
    /// Where `sluice aws approve` finds the execution, for the waiting line.
    public let executionArn: String
    private var events: [Int: HistoryEvent] = [:]
    /// The newest event drawn so far.
    public private(set) var lastEventID = 0

    public init(executionArn: String) { self.executionArn = executionArn }

    /// The lines for the events not drawn yet, in order.
    public mutating func lines(for history: [HistoryEvent]) -> [String] {
        var lines: [String] = []
        for event in history where event.id > lastEventID {
            events[event.id] = event
            lastEventID = event.id
            if let line = line(for: event) { lines.append(line) }
        }
        return lines
    }

    private func line(for event: HistoryEvent) -> String? {
        let details = event.details
        if event.type.hasSuffix("StateEntered"), let name = details?["name"]?.string, !Self.isBookkeeping(name) {
            return "  → \(name)"
        }
        if event.type.hasSuffix("StateExited"), let name = details?["name"]?.string, !Self.isBookkeeping(name) {
            return "  ✓ \(name)"
        }
        switch event.type {
        case "TaskFailed", "LambdaFunctionFailed", "TaskTimedOut", "MapIterationFailed":
            let error = details?["error"]?.string ?? event.type
            let cause = details?["cause"]?.string.map { ": " + Self.oneLine($0) } ?? ""
            return "    \(stateName(before: event) ?? "task") attempt failed  \(error)\(cause)"
        case "TaskScheduled":
            guard let approval = ApprovalRequest(event), let step = approval.step ?? stateName(before: event) else {
                return nil
            }
            return "    \(step) waits for approval: sluice aws approve|reject \(executionArn) '\(step)'"
        default:
            return nil
        }
    }

    /// The state an event belongs to: the nearest state entered before it in its chain of previous events.
    private func stateName(before event: HistoryEvent) -> String? {
        var current = event.previousID
        while let id = current, let previous = events[id] {
            if previous.type.hasSuffix("StateEntered") { return previous.details?["name"]?.string }
            current = previous.previousID
        }
        return nil
    }

    /// The exported machine's own states (parameter defaults, the done and failed ends), which are not steps.
    static func isBookkeeping(_ name: String) -> Bool { name.hasPrefix("Sluice: ") }

    static func oneLine(_ text: String) -> String {
        let flat = text.split(whereSeparator: \.isNewline).joined(separator: " ")
        return flat.count > 300 ? String(flat.prefix(300)) + "…" : flat
    }
}

/// A task that waits at its task token for an approval (`…waitForTaskToken` with the token in its payload), read
/// from its `TaskScheduled` event: the parameters there are resolved, so they hold the token itself.
public struct ApprovalRequest: Sendable, Equatable {
    public var token: String
    /// The pipeline step the exported payload names.
    public var step: String?

    public init?(_ event: HistoryEvent) {
        guard event.type == "TaskScheduled", let details = event.details,
            details["resource"]?.string?.hasSuffix("waitForTaskToken") == true,
            let text = details["parameters"]?.string,
            let parameters = try? JSONDecoder().decode(JSONValue.self, from: Data(text.utf8)),
            let token = parameters["Payload"]?["token"]?.string
        else { return nil }
        self.token = token
        step = parameters["Payload"]?["step"]?.string
    }
}
