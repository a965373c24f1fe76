import Foundation
import HTTPTypes
import Hummingbird
import SluiceCore
import SluiceStore

/// Monitoring (schedules, runs with their drift and violations) and the feature store (groups, a record by id).
extension ConsoleRoutes {
    func monitoringPage(_ visitor: Visitor) throws -> Page {
        let schedules: [[String: Any]] = try store.monitorSchedules().map { schedule in
            var row: [String: Any] = [
                "endpoint": schedule.endpoint, "stage": schedule.stage,
                "every": Self.duration(from: 0, to: schedule.everySeconds, now: 0),
            ]
            if !schedule.notify.isEmpty { row["notify"] = schedule.notify.joined(separator: ", ") }
            return row
        }
        let runs: [[String: Any]] = try store.monitorRuns(limit: 200).map { run in
            [
                "windowEnd": Self.time(run.windowEnd), "endpoint": run.endpoint, "stage": run.stage,
                "model": "\(run.group)/\(run.version)", "rows": run.rowCount, "drifted": run.driftedCount,
                "violations": run.violationCount, "drift": run.datasetDrift,
            ]
        }
        let context: [String: Any] = ["schedules": schedules, "runs": runs, "hasRuns": !runs.isEmpty]
        return ("Monitoring", ConsoleTemplates.render(context, "monitoring"), .ok)
    }

    func featuresPage(_ request: Request, _ visitor: Visitor) throws -> Page {
        let asked = request.uri.queryParameters.get("group").map { String($0) }
        let id = request.uri.queryParameters.get("id").map { String($0) } ?? ""
        let known = try store.featureGroups()
        if let asked, !known.contains(where: { $0.name == asked }) {
            throw ConsoleRefusal.badQuery(
                "group", asked,
                allowed: "the name of a feature group: "
                    + (known.isEmpty ? "there is none yet" : Self.list(known.map(\.name))), link: "/console/features")
        }
        let groups: [[String: Any]] = try known.map { group in
            var row: [String: Any] = [
                "name": group.name, "recordIdentifier": group.recordIdentifier, "eventTime": group.eventTime,
                "features": group.features.count, "records": try store.featureRecordCount(group: group.name),
            ]
            if asked == group.name, !id.isEmpty {
                row["lookedUp"] = id
                if let record = try store.latestFeatureRecord(group: group.name, recordID: id) {
                    row["record"] = Self.pretty(.object(record.features))
                } else {
                    row["missing"] = "No record '\(id)' in \(group.name)."
                }
            }
            return row
        }
        return ("Feature store", ConsoleTemplates.render(["groups": groups], "features"), .ok)
    }
}
