import ArgumentParser
import Foundation
import SluiceCore
import SluiceExecutors
import SluiceML
import SluiceMonitor
import SluiceStore

/// `sluice monitor`: baselines, monitoring runs and schedules (SageMaker Model Monitor's files, Evidently's tests).
struct MonitorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "monitor",
        abstract: "Baselines from training data; drift and constraint checks on captured traffic; alerts.",
        subcommands: [Baseline.self, Run.self, Schedule.self, List.self, Show.self])

    struct Baseline: ReportingCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write statistics.json and constraints.json for a model version from its training data.")

        @Argument(help: "The model version, Group/N.") var model: ModelVersionArgument
        @Option(help: "The training data (CSV with a header).") var data: String
        @Option(
            parsing: .upToNextOption,
            help: "The features, in request order (default: the model's input columns, else every column).")
        var features: [String] = []

        func execute() throws {
            let context = try EngineContext.open()
            let folder = "\(context.home.path)/monitoring/baselines/\(model.group)/\(model.version)"
            let made = try MonitorBaselines(
                store: context.store, artifacts: ArtifactStore(root: context.home.artifactsPath)
            )
            .makeBaseline(
                group: model.group, version: model.version, data: data,
                features: features.isEmpty ? nil : features, folder: folder)
            print("\(model.group)/\(model.version): baseline of \(made.count) feature(s)")
            print("  statistics:  \(folder)/statistics.json")
            print("  constraints: \(folder)/constraints.json")
        }
    }

    struct Run: AsyncReportingCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check what an endpoint stage captured since the last run against its model's baseline.")

        @OptionGroup var target: EndpointStage
        @Option(help: "text, or json (constraint_violations.json).") var format: ListFormat = .text
        @Option(parsing: .upToNextOption, help: "Addresses alerted on a violation (default: the schedule's).")
        var notify: [String] = []
        @OptionGroup var quality: QualityOptions

        func execute() async throws {
            let context = try EngineContext.open()
            let runner = context.monitorRunner
            let schedule = try runner.schedule(endpoint: target.endpoint, stage: target.stage)
            let settings = try quality.settings() ?? schedule?.quality.flatMap(QualitySettings.init(stored:))
            let outcome = try runner.run(
                endpoint: target.endpoint, stage: target.stage, now: Date().timeIntervalSince1970, quality: settings)
            let recipients = notify.isEmpty ? schedule?.notify ?? [] : notify
            if format == .json {
                print(String(decoding: try MonitoringJSON.encoder.encode(outcome.report.violations), as: UTF8.self))
            } else {
                print(outcome.summary)
            }
            if let destination = try await runner.alert(outcome, to: recipients) {
                FileHandle.standardError.write(
                    Data("alert sent to \(recipients.joined(separator: ", ")): \(destination)\n".utf8))
            }
        }
    }

    struct Schedule: ReportingCommand {
        static let configuration = CommandConfiguration(
            abstract: "Record a monitoring schedule for an endpoint stage (run by the server's scheduler).")

        @OptionGroup var target: EndpointStage
        @Option(help: "How often, as an ISO 8601 duration (PT1H, PT15M, P1D).") var every: String = "PT1H"
        @Option(parsing: .upToNextOption, help: "Addresses alerted on a violation.") var notify: [String] = []
        @OptionGroup var quality: QualityOptions

        func execute() throws {
            guard let span = TimeSpan(iso8601: every), span.seconds > 0 else {
                throw CLIError("--every \(every): not an ISO 8601 duration; write e.g. PT1H, PT15M or P1D")
            }
            let settings = try quality.settings()
            let store = try EngineContext.open().store
            try store.setMonitorSchedule(
                endpoint: target.endpoint, stage: target.stage, everySeconds: span.seconds, notify: notify,
                quality: try settings?.stored,
                now: Date().timeIntervalSince1970)
            let checks = settings.map { settings in
                ", model quality (\(settings.problem.rawValue)"
                    + (settings.thresholds.isEmpty
                        ? "" : ": " + settings.thresholds.map(\.text).joined(separator: ", "))
                    + ")"
            }
            print("\(target.endpoint) (\(target.stage)): monitored every \(span)\(checks ?? "")")
        }
    }

    struct List: ReportingCommand {
        static let configuration = CommandConfiguration(abstract: "List monitoring schedules and the latest runs.")
        @OptionGroup var output: OutputFormat

        func execute() throws {
            let store = try EngineContext.open().store
            let schedules = try store.monitorSchedules()
            let runs = try store.monitorRuns(limit: 20)
            if output.json {
                printJSON([
                    "schedules": .array(
                        schedules.map {
                            [
                                "endpoint": .string($0.endpoint), "stage": .string($0.stage),
                                "everySeconds": .double($0.everySeconds),
                                "notify": .array($0.notify.map { .string($0) }), "quality": $0.quality ?? .null,
                            ]
                        }),
                    "runs": .array(runs.map(\.json)),
                ])
                return
            }
            for schedule in schedules {
                let span = TimeSpan(seconds: schedule.everySeconds)
                print(
                    "\(schedule.endpoint) (\(schedule.stage))  every \(span)  notify \(schedule.notify.joined(separator: ","))"
                )
            }
            for run in runs { print(run.line) }
        }
    }

    struct Show: ReportingCommand {
        static let configuration = CommandConfiguration(abstract: "Show the monitoring runs of an endpoint.")
        @Argument(help: "The endpoint.") var endpoint: String
        @Option(help: "Only this stage.") var stage: String?
        @OptionGroup var output: OutputFormat

        func execute() throws {
            let runs = try EngineContext.open().store.monitorRuns(endpoint: endpoint, stage: stage)
            if output.json {
                printJSON(.array(runs.map(\.json)))
                return
            }
            if runs.isEmpty {
                print("\(endpoint): no monitoring runs yet; start one with `sluice monitor run \(endpoint)`")
            }
            for run in runs { print(run.line) }
        }
    }
}

/// `--problem` and `--threshold`: what model quality a monitor checks.
struct QualityOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "Check model quality against ground truth (POST /endpoints/NAME/ground-truth): Regression, "
                + "BinaryClassification or MulticlassClassification.", valueName: "problem"))
    var problem: String?
    @Option(
        parsing: .upToNextOption,
        help: ArgumentHelp(
            "A model-quality threshold, METRIC>VALUE or METRIC<VALUE (e.g. mae>50, r2<0.3); crossing it is a "
                + "violation.", valueName: "threshold"))
    var threshold: [String] = []

    /// The settings given, nil when `--problem` is not.
    func settings() throws -> QualitySettings? {
        guard let problem else {
            if !threshold.isEmpty { throw CLIError("--threshold needs --problem (e.g. --problem Regression)") }
            return nil
        }
        guard let type = ProblemType.allCases.first(where: { $0.rawValue.lowercased() == problem.lowercased() }) else {
            throw CLIError(
                "--problem \(problem): use one of \(ProblemType.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        var thresholds: [QualityThreshold] = []
        for text in threshold {
            guard let parsed = QualityThreshold(text) else {
                throw CLIError("--threshold \(text): write METRIC>VALUE or METRIC<VALUE, e.g. mae>50 or r2<0.3")
            }
            guard type.metricNames.contains(parsed.metric) else {
                throw CLIError(
                    "--threshold \(text): \(type.rawValue) has no metric '\(parsed.metric)'; use one of "
                        + type.metricNames.joined(separator: ", "))
            }
            thresholds.append(parsed)
        }
        return QualitySettings(problem: type, thresholds: thresholds)
    }
}

extension MonitorRunRecord {
    var json: JSONValue {
        [
            "id": .string(id), "endpoint": .string(endpoint), "stage": .string(stage),
            "model": .string("\(group)/\(version)"), "windowStart": .double(windowStart),
            "windowEnd": .double(windowEnd), "rows": .int(rowCount), "violations": .int(violationCount),
            "driftedFeatures": .int(driftedCount), "datasetDrift": .bool(datasetDrift), "folder": .string(folder),
            "qualityViolations": .int(qualityBreaches),
            "report": report,
        ]
    }

    var line: String {
        "\(id)  \(endpoint) (\(stage))  \(group)/\(version)  \(rowCount) rows  \(violationCount) violation(s)  "
            + "\(driftedCount) drifted\(datasetDrift ? "  DATASET DRIFT" : "")"
    }
}
