import Foundation
import SluiceCore
import SluiceML
import SluiceMonitor
import SluiceStore

/// Makes baselines: reads training data, writes Model Monitor's files, keeps them as artifacts of a model version.
struct MonitorBaselines {
    let home: SluiceHome
    let store: SQLiteStore

    struct Made {
        var features: [String]
        var folder: String
    }

    /// The baseline of `group/version` from `data`.
    /// - Parameter features: the features in request order; nil takes the model's input columns, else all columns.
    func make(group: String, version: Int, data: String, features: [String]?) throws -> Made {
        guard let record = try store.modelVersion(group: group, version: version) else {
            throw CLIError("no model version \(group)/\(version); list them with `sluice models list \(group)`")
        }
        let frame: Frame
        do {
            frame = try CSVReader.read(path: data)
        } catch {
            throw CLIError("cannot read the training data \(data): \(error)")
        }
        let chosen = features ?? modelInputColumns(record) ?? frame.names
        let baseline: SluiceMonitor.Baseline
        do {
            baseline = try SluiceMonitor.Baseline(data: frame, features: chosen)
        } catch {
            throw CLIError("\(data): \(error); name the features with --features")
        }
        let folder = "\(home.path)/monitoring/baselines/\(group)/\(version)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try MonitorCommand.encoder.encode(baseline.statistics).write(
            to: URL(fileURLWithPath: "\(folder)/statistics.json"))
        try MonitorCommand.encoder.encode(baseline.constraints).write(
            to: URL(fileURLWithPath: "\(folder)/constraints.json"))
        let artifacts = ArtifactStore(root: home.artifactsPath)
        try store.setMonitorBaseline(
            MonitorBaselineRecord(
                group: group, version: version,
                statisticsHash: try artifacts.ingest(path: "\(folder)/statistics.json").hash,
                constraintsHash: try artifacts.ingest(path: "\(folder)/constraints.json").hash,
                referenceHash: try artifacts.ingest(path: data).hash, features: chosen,
                createdAt: Date().timeIntervalSince1970))
        return Made(features: chosen, folder: folder)
    }

    private func modelInputColumns(_ record: ModelVersionRecord) -> [String]? {
        var path = record.artifactPath
        if !FileManager.default.fileExists(atPath: path) {
            path = ArtifactStore(root: home.artifactsPath).location(of: record.artifactHash)
        }
        var isFolder: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isFolder), isFolder.boolValue {
            path += "/model.json"
        }
        guard let model = try? ModelArtifact.load(path: path) else { return nil }
        // Requests carry the features themselves unless the model transforms raw input columns first.
        return model.transforms.isEmpty ? model.features : model.inputColumns
    }
}

/// One monitoring run of an endpoint stage: the capture since the last run, checked against the deployed version's
/// baseline; the report kept in the store and under `.sluice/monitoring/<endpoint>/<stage>/<run>/`.
struct MonitorRunner {
    let home: SluiceHome
    let store: SQLiteStore

    struct Outcome {
        var id: String
        var endpoint: String
        var stage: String
        var report: MonitoringReport
        var folder: String
        var summary: String
        /// A violation or dataset drift was found.
        var needsAlert: Bool { !report.violations.violations.isEmpty || report.drift.drifted }
        var alertSubject: String {
            "Sluice monitor: \(report.violations.violations.count) violation(s) on \(endpoint) (\(stage))"
        }
    }

    func scheduledRecipients(endpoint: String, stage: String) throws -> [String] {
        try store.monitorSchedules().first { $0.endpoint == endpoint && $0.stage == stage }?.notify ?? []
    }

    func run(endpoint: String, stage: String, now: Double) throws -> Outcome {
        guard
            let deployment = try store.currentDeployments().first(where: {
                $0.endpoint == endpoint && $0.stage == stage
            })
        else {
            throw CLIError(
                "no deployment on \(endpoint) (\(stage)); see `sluice endpoints list`, or pick the stage with --stage")
        }
        let live = deployment.variants.filter { !$0.isShadow }.sorted { $0.weight > $1.weight }
        guard let primary = live.first else { throw CLIError("\(endpoint) (\(stage)) serves no variant") }
        guard let baseline = try store.monitorBaseline(group: primary.group, version: primary.version) else {
            throw CLIError(
                "\(primary.group)/\(primary.version), served by \(endpoint) (\(stage)), has no baseline; make one with "
                    + "`sluice monitor baseline \(primary.group)/\(primary.version) --data TRAINING.csv`")
        }
        let artifacts = ArtifactStore(root: home.artifactsPath)
        let constraints = try JSONDecoder().decode(
            MonitoringConstraints.self,
            from: Data(contentsOf: URL(fileURLWithPath: artifacts.location(of: baseline.constraintsHash))))
        let reference = try CSVReader.read(path: artifacts.location(of: baseline.referenceHash))
        let start = try store.monitorRuns(endpoint: endpoint, stage: stage, limit: 1).first?.windowEnd ?? 0
        var window = MonitoringWindow(start: start, end: now)
        let root = "\(home.path)/capture/\(endpoint)/\(stage)"
        let shadows = Set(deployment.variants.filter(\.isShadow).map(\.name))
        let files = (FileManager.default.enumerator(atPath: root)?.compactMap { $0 as? String } ?? [])
            .filter { $0.hasSuffix(".jsonl") && !shadows.contains(String($0.prefix { $0 != "/" })) }.sorted()
        for file in files {
            window.add(
                captureFile: try Data(contentsOf: URL(fileURLWithPath: "\(root)/\(file)")), name: "\(root)/\(file)")
        }
        let report = window.report(features: baseline.features, constraints: constraints, reference: reference)
        let id = EngineContext.newExecutionID()
        let folder = "\(home.path)/monitoring/\(endpoint)/\(stage)/\(id)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let violations = try MonitorCommand.encoder.encode(report.violations)
        try violations.write(to: URL(fileURLWithPath: "\(folder)/constraint_violations.json"))
        let reportData = try MonitorCommand.encoder.encode(report)
        try reportData.write(to: URL(fileURLWithPath: "\(folder)/report.json"))
        try store.recordMonitorRun(
            MonitorRunRecord(
                id: id, endpoint: endpoint, stage: stage, group: primary.group, version: primary.version,
                windowStart: start, windowEnd: now, rowCount: report.rowCount,
                violationCount: report.violations.violations.count, driftedCount: report.drift.driftedCount,
                datasetDrift: report.drift.drifted,
                report: (try? JSONDecoder().decode(JSONValue.self, from: reportData)) ?? .null, folder: folder,
                createdAt: now))
        var lines = [
            "\(endpoint) (\(stage)) against \(primary.group)/\(primary.version)'s baseline: \(report.rowCount) rows "
                + "captured since \(start == 0 ? "the start" : Self.format(start))"
        ]
        for drift in report.drift.columns {
            lines.append(
                "  \(drift.drifted ? "DRIFT" : "ok   ")  \(drift.column)  \(drift.method.rawValue) = \(drift.value) "
                    + "(threshold \(drift.threshold))")
        }
        lines.append(
            "  dataset drift: \(report.drift.drifted ? "yes" : "no") (\(report.drift.driftedCount) of "
                + "\(report.drift.columns.count) features)")
        for violation in report.violations.violations {
            lines.append(
                "  violation  \(violation.constraintCheckType.rawValue)  \(violation.featureName): \(violation.description)"
            )
        }
        for problem in window.problems.prefix(5) { lines.append("  unreadable capture: \(problem)") }
        lines.append("  report: \(folder)/constraint_violations.json")
        return Outcome(
            id: id, endpoint: endpoint, stage: stage, report: report, folder: folder,
            summary: lines.joined(separator: "\n"))
    }

    private static func format(_ seconds: Double) -> String {
        ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: seconds))
    }
}
