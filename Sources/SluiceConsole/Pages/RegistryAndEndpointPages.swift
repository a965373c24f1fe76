import Foundation
import HTTPTypes
import Hummingbird
import SluiceCore
import SluiceServer
import SluiceServing
import SluiceStore

/// The model registry (groups, versions with metrics, lineage and aliases, approve/reject, the audit log) and the
/// endpoints (live stages with the aliases of their models, traffic, deployment history, API keys by name with their
/// usage, revoke).
extension ConsoleRoutes {
    func registryPage(_ visitor: Visitor) throws -> Page {
        let aliases = Dictionary(grouping: try store.modelAliases(), by: \.group)
        let groups: [[String: Any]] = try store.modelGroups().map { group in
            var row: [String: Any] = [
                "name": group.name, "link": Self.pathEscaped(group.name), "versions": group.versionCount,
                "created": Self.time(group.createdAt),
                "aliases": (aliases[group.name] ?? []).map { "\($0.alias) → v\($0.version)" },
            ]
            if let latest = try store.latestModelVersion(group: group.name, status: nil) {
                row["latest"] = [
                    "version": latest.version, "status": latest.status.rawValue,
                    "statusClass": Self.statusClass(latest.status),
                ]
            }
            return row
        }
        let body = ConsoleTemplates.render(["groups": groups, "hasGroups": !groups.isEmpty], "registry")
        return ("Model registry", body, .ok)
    }

    func groupPage(_ name: String, _ visitor: Visitor) throws -> Page {
        let versions = try store.modelVersions(group: name)
        guard !versions.isEmpty else {
            throw ConsoleRefusal.notFound("No model group '\(name)'; pick one from the registry.")
        }
        let csrf = sessions.csrfToken(for: visitor.session)
        let aliases = Dictionary(grouping: try store.modelAliases(group: name), by: \.version)
        let rows: [[String: Any]] = versions.reversed().map { version in
            var row: [String: Any] = [
                "version": version.version, "status": version.status.rawValue,
                "aliases": (aliases[version.version] ?? []).map(\.alias),
                "statusClass": Self.statusClass(version.status), "created": Self.time(version.createdAt),
                "artifact": String(version.artifactHash.prefix(19)), "link": Self.pathEscaped(name),
                "pending": version.status == .pendingManualApproval, "csrf": csrf,
                "inputs": version.inputHashes.keys.sorted().map {
                    ["name": $0, "hash": String((version.inputHashes[$0] ?? "").prefix(19))]
                },
            ]
            if let metrics = version.metrics { row["metrics"] = Self.pretty(metrics) }
            if let execution = version.executionID { row["execution"] = execution }
            if let step = version.stepName { row["step"] = step }
            return row
        }
        let events: [[String: Any]] = try store.modelEvents(group: name).reversed().map { event in
            [
                "time": Self.time(event.time), "version": event.version.map { "v\($0)" } ?? "",
                "kind": event.alias.map { "\(event.kind) \($0)" } ?? event.kind, "by": event.by,
                "reason": event.reason,
            ]
        }
        let body = ConsoleTemplates.render(["name": name, "versions": rows, "events": events], "group")
        return ("Model group \(name)", body, .ok)
    }

    /// Approves or rejects a model version, recorded in the audit log under the signed-in key's name.
    func decideModel(group: String, version: String, verb: String, fields: [String: String], by: String) throws
        -> Response
    {
        let page = "/console/registry/\(Self.pathEscaped(group))"
        guard let number = Int(version), try store.modelVersion(group: group, version: number) != nil else {
            throw ConsoleRefusal(
                status: .notFound, heading: "Nothing was changed",
                message: "No version '\(version)' in model group '\(group)'.", link: "/console/registry")
        }
        let status: ModelApprovalStatus
        switch verb {
        case "approve": status = .approved
        case "reject": status = .rejected
        default:
            throw ConsoleRefusal(
                status: .notFound, heading: "Nothing was changed",
                message: "'\(verb)' is not an action on a model version; use approve or reject.", link: page)
        }
        let reason = fields["reason"]?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
        if status == .rejected && reason.isEmpty {
            throw ConsoleRefusal(
                status: .badRequest, heading: "Nothing was changed",
                message: "Field 'reason' is empty: say why version \(number) is rejected.", link: page)
        }
        _ = try store.setApprovalStatus(
            group: group, version: number, status: status, by: by, reason: reason, now: clock.now)
        return Self.redirect(page + "?done=" + Self.queryEscaped("\(group)/\(number) is \(status.rawValue)."))
    }

    func endpointsPage(_ visitor: Visitor) throws -> Page {
        // The aliases pointing at each deployed version, e.g. `Churn/3 (champion)`.
        let aliases = Dictionary(grouping: try store.modelAliases(), by: { "\($0.group)/\($0.version)" })
        let stages: [[String: Any]] = try store.currentDeployments().map { deployment in
            [
                "endpoint": deployment.endpoint, "stage": deployment.stage, "time": Self.time(deployment.time),
                "by": deployment.by,
                "variants": deployment.variants.map { variant in
                    var row: [String: Any] = [
                        "name": variant.name, "model": variant.reference, "weight": Self.number(variant.weight),
                        "shadow": variant.isShadow,
                    ]
                    if let named = aliases[variant.reference] {
                        row["aliases"] = named.map(\.alias).joined(separator: ", ")
                    }
                    return row
                },
            ]
        }
        let endpoints: [[String: Any]] = try store.endpoints().map { endpoint in
            [
                "name": endpoint.name, "capture": Self.number(endpoint.capturePercentage),
                "created": Self.time(endpoint.createdAt),
                "history": try store.deploymentHistory(endpoint: endpoint.name, stage: nil).reversed().map {
                    [
                        "time": Self.time($0.time), "stage": $0.stage, "action": $0.action.rawValue, "by": $0.by,
                        "reason": $0.reason,
                        "variants": $0.variants.map { "\($0.name)=\($0.reference)" }.joined(separator: ", "),
                    ]
                },
            ]
        }
        // A count kept for an earlier day or month reads as zero now, as `sluice keys list` shows it.
        let now = clock.now
        let usage = Dictionary(
            try store.keyUsage().map { ($0.keyID, $0.current(at: now)) }, uniquingKeysWith: { first, _ in first })
        let csrf = sessions.csrfToken(for: visitor.session)
        let keys: [[String: Any]] = try store.apiKeys().map { key in
            var plan: [String] = []
            if let rate = key.rate { plan.append("\(Self.number(rate))/s (burst \(key.burst ?? 1))") }
            if let daily = key.dailyQuota { plan.append("\(daily)/day") }
            if let monthly = key.monthlyQuota { plan.append("\(monthly)/month") }
            if let endpoint = key.endpoint { plan.append("only \(endpoint)") }
            var row: [String: Any] = [
                "name": key.name, "id": key.id, "created": Self.time(key.createdAt), "csrf": csrf,
                "plan": plan.isEmpty ? "unlimited" : plan.joined(separator: ", "),
                "today": usage[key.id].map { String($0.dayCount) } ?? "–",
                "month": usage[key.id].map { String($0.monthCount) } ?? "–",
            ]
            if let revoked = key.revokedAt { row["revoked"] = Self.time(revoked) }
            return row
        }
        let traffic = Self.trafficRows(metrics.traffic(), earlier: nil, now: clock.now)
        let context: [String: Any] = [
            "stages": stages, "hasStages": !stages.isEmpty, "endpoints": endpoints, "keys": keys,
            "hasKeys": !keys.isEmpty, "traffic": traffic.map { $0 as [String: Any] },
        ]
        return ("Endpoints", ConsoleTemplates.render(context, "endpoints"), .ok)
    }

    /// Revokes a key: the server stops accepting it and the console sessions signed in with it end.
    func revokeKey(_ id: String) throws -> Response {
        guard try store.apiKeys().contains(where: { $0.id == id }) else {
            throw ConsoleRefusal(
                status: .notFound, heading: "Nothing was changed", message: "No API key '\(id)'.",
                link: "/console/endpoints")
        }
        _ = try store.revokeAPIKey(id: id, now: clock.now)
        // Serving refuses it from now on (not only after the next store poll), and it signs no one in any more.
        keyring.revoke(id: id)
        sessions.signOut(keyID: id)
        return Self.redirect("/console/endpoints?done=" + Self.queryEscaped("Key \(id) is revoked."))
    }

    static func statusClass(_ status: ModelApprovalStatus) -> String {
        switch status {
        case .approved: "approved"
        case .rejected: "rejected"
        case .pendingManualApproval: "waiting"
        }
    }

    /// A number without a needless fraction: `1`, `0.5`.
    static func number(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(value)
    }
}
