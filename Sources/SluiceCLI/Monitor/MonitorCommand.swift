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

    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(
            positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        return encoder
    }()

    struct Baseline: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write statistics.json and constraints.json for a model version from its training data.")

        @Argument(help: "The model version, Group/N.") var model: ModelVersionArgument
        @Option(help: "The training data (CSV with a header).") var data: String
        @Option(
            parsing: .upToNextOption,
            help: "The features, in request order (default: the model's input columns, else every column).")
        var features: [String] = []

        func run() throws { try reportingErrors(execute) }

        private func execute() throws {
            let context = try EngineContext.open()
            let made = try MonitorBaselines(home: context.home, store: context.store).make(
                group: model.group, version: model.version, data: data, features: features.isEmpty ? nil : features)
            print("\(model.group)/\(model.version): baseline of \(made.features.count) feature(s)")
            print("  statistics:  \(made.folder)/statistics.json")
            print("  constraints: \(made.folder)/constraints.json")
        }
    }

    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check what an endpoint stage captured since the last run against its model's baseline.")

        @Argument(help: "The endpoint.") var endpoint: String
        @Option(help: "The stage.") var stage: String = "production"
        @Option(help: "text, or json (constraint_violations.json).") var format: ListFormat = .text
        @Option(parsing: .upToNextOption, help: "Addresses alerted on a violation (default: the schedule's).")
        var notify: [String] = []

        func run() async throws { try await reportingErrors(execute) }

        private func execute() async throws {
            let context = try EngineContext.open()
            let runner = MonitorRunner(home: context.home, store: context.store)
            let outcome = try runner.run(endpoint: endpoint, stage: stage, now: Date().timeIntervalSince1970)
            let recipients = try notify.isEmpty ? runner.scheduledRecipients(endpoint: endpoint, stage: stage) : notify
            if format == .json {
                print(String(decoding: try MonitorCommand.encoder.encode(outcome.report.violations), as: UTF8.self))
            } else {
                print(outcome.summary)
            }
            if outcome.needsAlert && !recipients.isEmpty {
                let delivery = EngineContext.notifyDelivery(artifacts: ArtifactStore(root: context.home.artifactsPath))
                let destination = try await delivery.deliver(
                    to: recipients, subject: outcome.alertSubject, body: outcome.summary, id: "monitor-\(outcome.id)")
                FileHandle.standardError.write(
                    Data("alert sent to \(recipients.joined(separator: ", ")): \(destination)\n".utf8))
            }
        }
    }

    struct Schedule: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Record a monitoring schedule for an endpoint stage (run by the server's scheduler).")

        @Argument(help: "The endpoint.") var endpoint: String
        @Option(help: "The stage.") var stage: String = "production"
        @Option(help: "How often, as an ISO 8601 duration (PT1H, PT15M, P1D).") var every: String = "PT1H"
        @Option(parsing: .upToNextOption, help: "Addresses alerted on a violation.") var notify: [String] = []

        func run() throws { try reportingErrors(execute) }

        private func execute() throws {
            guard let span = TimeSpan(iso8601: every), span.seconds > 0 else {
                throw CLIError("--every \(every): not an ISO 8601 duration; write e.g. PT1H, PT15M or P1D")
            }
            let store = try EngineContext.open().store
            try store.setMonitorSchedule(
                endpoint: endpoint, stage: stage, everySeconds: span.seconds, notify: notify,
                now: Date().timeIntervalSince1970)
            print("\(endpoint) (\(stage)): monitored every \(span)")
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List monitoring schedules and the latest runs.")
        @Option(help: "text or json.") var format: ListFormat = .text

        func run() throws { try reportingErrors(execute) }

        private func execute() throws {
            let store = try EngineContext.open().store
            let schedules = try store.monitorSchedules()
            let runs = try store.monitorRuns(limit: 20)
            if format == .json {
                printJSON([
                    "schedules": .array(
                        schedules.map {
                            [
                                "endpoint": .string($0.endpoint), "stage": .string($0.stage),
                                "everySeconds": .double($0.everySeconds),
                                "notify": .array($0.notify.map { .string($0) }),
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

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show the monitoring runs of an endpoint.")
        @Argument(help: "The endpoint.") var endpoint: String
        @Option(help: "Only this stage.") var stage: String?
        @Option(help: "text or json.") var format: ListFormat = .text

        func run() throws { try reportingErrors(execute) }

        private func execute() throws {
            let runs = try EngineContext.open().store.monitorRuns(endpoint: endpoint, stage: stage)
            if format == .json {
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

extension MonitorRunRecord {
    var json: JSONValue {
        [
            "id": .string(id), "endpoint": .string(endpoint), "stage": .string(stage),
            "model": .string("\(group)/\(version)"), "windowStart": .double(windowStart),
            "windowEnd": .double(windowEnd), "rows": .int(rowCount), "violations": .int(violationCount),
            "driftedFeatures": .int(driftedCount), "datasetDrift": .bool(datasetDrift), "folder": .string(folder),
            "report": report,
        ]
    }

    var line: String {
        "\(id)  \(endpoint) (\(stage))  \(group)/\(version)  \(rowCount) rows  \(violationCount) violation(s)  "
            + "\(driftedCount) drifted\(datasetDrift ? "  DATASET DRIFT" : "")"
    }
}
