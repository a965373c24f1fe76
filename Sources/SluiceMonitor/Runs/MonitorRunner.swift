public import Foundation
public import SluiceCore
import SluiceML

/// One monitoring run of an endpoint stage: the capture since the last run, checked against the deployed version's
/// baseline; the report kept in the store and under `monitoring/<endpoint>/<stage>/<run>/`.
@MemberwiseInit
public struct MonitorRunner: Sendable {
    /// Sends one message; returns where it went (an SMTP server, an outbox file).
    public typealias Deliver =
        @Sendable (
            _ recipients: [String], _ subject: String, _ body: String, _ id: String
        ) async throws -> String

    /// What a run found.
    public struct Outcome: Sendable {
        public var report: MonitoringReport
        /// The lines `sluice monitor run` prints and an alert carries.
        public var summary: String
        /// The run as kept in the store; nil when it was not kept (a scheduled run over a window with no traffic).
        public var run: MonitorRunRecord?

        /// A kept run found a violation, dataset drift or a quality threshold crossed.
        public var needsAlert: Bool {
            run != nil
                && (!report.violations.violations.isEmpty || report.drift.drifted || qualityViolations > 0)
        }
        var qualityViolations: Int { report.quality?.violations.count ?? 0 }
    }

    public let store: any MonitorStoring & EndpointRegistry
    /// Where the baselines' files are.
    let artifacts: any ArtifactLocating
    /// The capture's root: each stage's files under `<endpoint>/<stage>/<variant>/`.
    let captureRoot: String
    /// Where each run's files go, under `<endpoint>/<stage>/<run id>/`.
    let reportsRoot: String
    /// Names each run.
    let newID: @Sendable () -> String
    /// Sends alerts.
    let deliver: Deliver

    /// The schedule of `endpoint` (`stage`), if one is recorded.
    public func schedule(endpoint: String, stage: String) throws -> MonitorScheduleRecord? {
        try store.monitorSchedules().first { $0.endpoint == endpoint && $0.stage == stage }
    }

    /// Sends the run's summary to `recipients` (SMTP, or the outbox).
    /// - Returns: where it went; nil when there was nothing to send (no alert, or no one to tell).
    public func alert(_ outcome: Outcome, to recipients: [String]) async throws -> String? {
        guard let run = outcome.run, outcome.needsAlert, !recipients.isEmpty else { return nil }
        let count = outcome.report.violations.violations.count + outcome.qualityViolations
        return try await deliver(
            recipients, "Sluice monitor: \(count) violation(s) on \(run.endpoint) (\(run.stage))", outcome.summary,
            "monitor-\(run.id)")
    }

    /// Analyses what `endpoint` (`stage`) captured since the last run, up to `now`.
    /// - Parameters:
    ///   - quality: the model-quality settings; nil checks data quality and drift only.
    ///   - skipEmpty: keep no run when the window holds no traffic (scheduled runs), so the last real run stays the
    ///     latest and the next run covers the waiting time too.
    public func run(
        endpoint: String, stage: String, now: Double, quality: QualitySettings? = nil, skipEmpty: Bool = false
    ) throws -> Outcome {
        guard
            let deployment = try store.currentDeployments().first(where: {
                $0.endpoint == endpoint && $0.stage == stage
            })
        else {
            throw RequestError(
                code: "unknown-deployment",
                message: "no deployment on \(endpoint) (\(stage)); see `sluice endpoints list`, or pick the stage "
                    + "with --stage")
        }
        let live = deployment.variants.filter { !$0.isShadow }.sorted { $0.weight > $1.weight }
        guard let primary = live.first else {
            throw RequestError(code: "no-variant", message: "\(endpoint) (\(stage)) serves no variant")
        }
        guard let baseline = try store.monitorBaseline(group: primary.group, version: primary.version) else {
            throw RequestError(
                code: "no-baseline",
                message: "\(primary.group)/\(primary.version), served by \(endpoint) (\(stage)), has no baseline; "
                    + "make one with `sluice monitor baseline \(primary.group)/\(primary.version) --data TRAINING.csv`")
        }
        let constraints = try JSONDecoder().decode(
            MonitoringConstraints.self,
            from: Data(contentsOf: URL(fileURLWithPath: artifacts.location(of: baseline.constraintsHash))))
        let reference = try CSVReader.read(path: artifacts.location(of: baseline.referenceHash))
        let start = try store.monitorRuns(endpoint: endpoint, stage: stage, limit: 1).first?.windowEnd ?? 0
        var window = MonitoringWindow(start: start, end: now)
        let root = "\(captureRoot)/\(endpoint)/\(stage)"
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
        if skipEmpty && report.rowCount == 0 {
            return Outcome(
                report: report, summary: "\(endpoint) (\(stage)): no traffic captured since the last run", run: nil)
        }
        let id = newID()
        let folder = "\(reportsRoot)/\(endpoint)/\(stage)/\(id)"
        let reportData = try write(report, to: folder)
        let run = MonitorRunRecord(
            id: id, endpoint: endpoint, stage: stage, group: primary.group, version: primary.version,
            windowStart: start, windowEnd: now, rowCount: report.rowCount,
            violationCount: report.violations.violations.count, driftedCount: report.drift.driftedCount,
            datasetDrift: report.drift.drifted,
            report: (try? JSONDecoder().decode(JSONValue.self, from: reportData)) ?? .null, folder: folder,
            createdAt: now, qualityBreaches: report.quality?.violations.count ?? 0)
        try store.recordMonitorRun(run)
        var lines = [
            "\(endpoint) (\(stage)) against \(primary.group)/\(primary.version)'s baseline: \(report.rowCount) rows "
                + "captured since \(start == 0 ? "the start" : Self.format(start))"
        ]
        lines += Self.findings(report) + window.problems.prefix(5).map { "  unreadable capture: \($0)" }
        lines.append("  report: \(folder)/constraint_violations.json")
        return Outcome(report: report, summary: lines.joined(separator: "\n"), run: run)
    }

    /// Writes Model Monitor's files of `report` into `folder`; returns the whole report's JSON.
    private func write(_ report: MonitoringReport, to folder: String) throws -> Data {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try MonitoringJSON.encoder.encode(report.violations).write(
            to: URL(fileURLWithPath: "\(folder)/constraint_violations.json"))
        if let quality = report.quality {
            // Model Monitor's model-quality jobs write their violations apart from the data-quality ones.
            try MonitoringJSON.encoder.encode(["violations": quality.violations]).write(
                to: URL(fileURLWithPath: "\(folder)/model_quality_violations.json"))
        }
        let reportData = try MonitoringJSON.encoder.encode(report)
        try reportData.write(to: URL(fileURLWithPath: "\(folder)/report.json"))
        return reportData
    }

    /// One line per drift test, violation and quality finding.
    private static func findings(_ report: MonitoringReport) -> [String] {
        var lines: [String] = []
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
        return lines
    }

    private static func format(_ seconds: Double) -> String {
        ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: seconds))
    }
}
