import Foundation
import SluiceCore
import SluiceExecutors
import SluiceML
import SluiceMonitor
import SluiceStore

/// Makes baselines: reads training data, writes Model Monitor's files, keeps them as artifacts of a model version.
struct MonitorBaselines: BaselineMaking {
    let store: SQLiteStore
    let artifacts: ArtifactStore

    func makeBaseline(group: String, version: Int, data: String, features: [String]?, folder: String) throws
        -> [String]
    {
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
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try MonitorCommand.encoder.encode(baseline.statistics).write(
            to: URL(fileURLWithPath: "\(folder)/statistics.json"))
        try MonitorCommand.encoder.encode(baseline.constraints).write(
            to: URL(fileURLWithPath: "\(folder)/constraints.json"))
        try store.setMonitorBaseline(
            MonitorBaselineRecord(
                group: group, version: version,
                statisticsHash: try artifacts.ingest(path: "\(folder)/statistics.json").hash,
                constraintsHash: try artifacts.ingest(path: "\(folder)/constraints.json").hash,
                referenceHash: try artifacts.ingest(path: data).hash, features: chosen,
                createdAt: Date().timeIntervalSince1970))
        return chosen
    }

    private func modelInputColumns(_ record: ModelVersionRecord) -> [String]? {
        var path = record.artifactPath
        if !FileManager.default.fileExists(atPath: path) {
            path = artifacts.location(of: record.artifactHash)
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
        /// Whether the run was kept (a scheduled run over a window with no traffic is not).
        var recorded: Bool
        /// A violation, dataset drift or a quality threshold crossed was found.
        var needsAlert: Bool {
            !report.violations.violations.isEmpty || report.drift.drifted || qualityViolations > 0
        }
        var qualityViolations: Int { report.quality?.violations.count ?? 0 }
        var alertSubject: String {
            "Sluice monitor: \(report.violations.violations.count + qualityViolations) violation(s) on \(endpoint) "
                + "(\(stage))"
        }
    }

    func schedule(endpoint: String, stage: String) throws -> MonitorScheduleRecord? {
        try store.monitorSchedules().first { $0.endpoint == endpoint && $0.stage == stage }
    }

    /// Sends the run's summary to `recipients` (SMTP, or the outbox); returns where it went.
    func alert(_ outcome: Outcome, to recipients: [String]) async throws -> String {
        let delivery = EngineContext.notifyDelivery(artifacts: ArtifactStore(root: home.artifactsPath))
        return try await delivery.deliver(
            to: recipients, subject: outcome.alertSubject, body: outcome.summary, id: "monitor-\(outcome.id)")
    }

    /// Analyses what `endpoint` (`stage`) captured since the last run.
    /// - Parameters:
    ///   - quality: the model-quality settings; nil checks data quality and drift only.
    ///   - skipEmpty: keep no run when the window holds no traffic (scheduled runs), so the last real run stays the
    ///     latest and the next run covers the waiting time too.
    func run(
        endpoint: String, stage: String, now: Double, quality: QualitySettings? = nil, skipEmpty: Bool = false
    ) throws -> Outcome {
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
        var report = window.report(features: baseline.features, constraints: constraints, reference: reference)
        if let quality {
            let labels = try store.groundTruth(endpoint: endpoint, ids: window.inferences.map(\.inferenceId))
            report.quality = ModelQuality.report(inferences: window.inferences, labels: labels, settings: quality)
        }
        let id = EngineContext.newExecutionID()
        if skipEmpty && report.rowCount == 0 {
            return Outcome(
                id: id, endpoint: endpoint, stage: stage, report: report, folder: "",
                summary: "\(endpoint) (\(stage)): no traffic captured since the last run", recorded: false)
        }
        let folder = "\(home.path)/monitoring/\(endpoint)/\(stage)/\(id)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let violations = try MonitorCommand.encoder.encode(report.violations)
        try violations.write(to: URL(fileURLWithPath: "\(folder)/constraint_violations.json"))
        if let quality = report.quality {
            // Model Monitor's model-quality jobs write their violations apart from the data-quality ones.
            try MonitorCommand.encoder.encode(["violations": quality.violations]).write(
                to: URL(fileURLWithPath: "\(folder)/model_quality_violations.json"))
        }
        let reportData = try MonitorCommand.encoder.encode(report)
        try reportData.write(to: URL(fileURLWithPath: "\(folder)/report.json"))
        try store.recordMonitorRun(
            MonitorRunRecord(
                id: id, endpoint: endpoint, stage: stage, group: primary.group, version: primary.version,
                windowStart: start, windowEnd: now, rowCount: report.rowCount,
                violationCount: report.violations.violations.count, driftedCount: report.drift.driftedCount,
                datasetDrift: report.drift.drifted,
                report: (try? JSONDecoder().decode(JSONValue.self, from: reportData)) ?? .null, folder: folder,
                createdAt: now, qualityBreaches: report.quality?.violations.count ?? 0))
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
        if let quality = report.quality {
            let metrics = quality.metrics.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }
            lines.append(
                "  model quality (\(quality.problem.rawValue)): \(quality.pairCount) labelled prediction(s), "
                    + "\(quality.unlabelled) inference(s) without ground truth"
                    + (metrics.isEmpty ? "" : ": " + metrics.joined(separator: ", ")))
            for violation in quality.violations {
                lines.append("  violation  \(violation.constraintCheckType.rawValue)  \(violation.description)")
            }
            for problem in quality.problems.prefix(5) { lines.append("  unpaired ground truth: \(problem)") }
        }
        for problem in window.problems.prefix(5) { lines.append("  unreadable capture: \(problem)") }
        lines.append("  report: \(folder)/constraint_violations.json")
        return Outcome(
            id: id, endpoint: endpoint, stage: stage, report: report, folder: folder,
            summary: lines.joined(separator: "\n"), recorded: true)
    }

    private static func format(_ seconds: Double) -> String {
        ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: seconds))
    }
}
