import Foundation
import HTTPTypes
import Hummingbird
import SluiceCore
import SluiceEngine
import SluiceStore

/// The approvals inbox, its decisions, and the pipelines pages.
extension ConsoleRoutes {
    func approvalsPage(_ visitor: Visitor) throws -> Page {
        let csrf = sessions.csrfToken(for: visitor.session)
        let items: [[String: Any]] = try store.waitingApprovals(now: clock.now).map { approval in
            var item: [String: Any] = [
                "prompt": approval.message.isEmpty ? "Approve \(approval.step)?" : approval.message,
                "step": approval.step, "executionID": approval.executionID, "pipeline": approval.pipeline,
                "created": Self.time(approval.createdAt), "tokenHash": approval.tokenHash, "csrf": csrf,
            ]
            if let expires = approval.expiresAt { item["expires"] = Self.time(expires) }
            return item
        }
        return ("Approvals", ConsoleTemplates.render(["items": items], "approvals"), .ok)
    }

    /// Approves or rejects through the approval's token hash: the same single-use decision as the link's.
    func decide(_ fields: [String: String]) throws -> Response {
        let hash = fields["approval"] ?? ""
        guard hash.count == 64, hash.allSatisfy(\.isHexDigit) else {
            throw ConsoleRefusal(
                status: .badRequest, heading: "Nothing was decided",
                message: "Field 'approval' must name a waiting approval; use the buttons of the inbox.",
                link: "/console/approvals")
        }
        let approve: Bool
        switch fields["decision"] {
        case "approve": approve = true
        case "reject": approve = false
        default:
            throw ConsoleRefusal(
                status: .badRequest, heading: "Nothing was decided",
                message: "Field 'decision' must be approve or reject (got '\(fields["decision"] ?? "")').",
                link: "/console/approvals")
        }
        let reason = fields["reason"]?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
        switch try desk.decide(tokenHash: hash, approve: approve, reason: reason) {
        case .decided(let view):
            let outcome = approve ? "Approved" : "Rejected"
            return Self.redirect(
                "/console/approvals?done="
                    + Self.queryEscaped("\(outcome) step '\(view.step)' of execution \(view.executionID)."))
        case .unknownToken:
            throw ConsoleRefusal(
                status: .notFound, heading: "Nothing was decided",
                message: "No approval is waiting under this form; reload the inbox.", link: "/console/approvals")
        case .gone(let view):
            throw ConsoleRefusal(
                status: .gone, heading: "Already decided",
                message: "Step '\(view.step)' of execution \(view.executionID) is no longer waiting: a decision works "
                    + "once.", link: "/console/approvals")
        }
    }

    func pipelinesPage(_ visitor: Visitor) throws -> Page {
        let items: [[String: Any]] = try store.latestPipelines().compactMap { stored in
            guard let pipeline = try? JSONDecoder().decode(Pipeline.self, from: Data(stored.definition.utf8)) else {
                return nil
            }
            var item: [String: Any] = [
                "name": stored.name, "link": Self.pathEscaped(stored.name), "steps": pipeline.steps.count,
                "executions": stored.executions, "version": String(stored.hash.dropFirst(7).prefix(12)),
                "graph": PipelineGraphSVG.render(pipeline),
            ]
            if let description = pipeline.description { item["description"] = description }
            return item
        }
        return ("Pipelines", ConsoleTemplates.render(["items": items], "pipelines"), .ok)
    }

    func pipelinePage(_ name: String, _ visitor: Visitor) throws -> Page {
        guard let stored = try store.latestPipelines().first(where: { $0.name == name }),
            let pipeline = try? JSONDecoder().decode(Pipeline.self, from: Data(stored.definition.utf8))
        else {
            throw ConsoleRefusal.notFound("No pipeline '\(name)' has run here; pick one from the pipelines list.")
        }
        var context: [String: Any] = [
            "name": stored.name, "link": Self.queryEscaped(stored.name), "executions": stored.executions,
            "version": String(stored.hash.dropFirst(7).prefix(12)), "graph": PipelineGraphSVG.render(pipeline),
            "triggers": pipeline.triggers.map(\.summary),
            "parameters": pipeline.parameters.map { parameter -> [String: Any] in
                var row: [String: Any] = ["name": parameter.name, "type": parameter.type.rawValue]
                if let value = parameter.defaultValue { row["value"] = Self.valueText(value) }
                return row
            },
            "spec": Self.pretty(json: stored.definition),
        ]
        if let description = pipeline.description { context["description"] = description }
        return ("Pipeline \(name)", ConsoleTemplates.render(context, "pipeline"), .ok)
    }
}
