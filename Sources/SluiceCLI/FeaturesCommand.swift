import ArgumentParser
import Foundation
import SluiceCore
import SluiceExecutors
import SluiceStore

extension FeatureRecord {
    var json: JSONValue {
        .object([
            "recordIdentifier": .string(recordID), "eventTime": .string(eventTime), "features": .object(features),
        ])
    }
}

extension EngineContext {
    /// `notify` delivers over `$SLUICE_SMTP`, else into the outbox next to the artifact store (`.sluice/outbox`).
    static func notifyDelivery(artifacts: ArtifactStore) -> NotifyDelivery {
        let home = (artifacts.root as NSString).deletingLastPathComponent
        return .from(environment: ProcessInfo.processInfo.environment, outbox: home + "/outbox")
    }
}

/// `sluice features`: the feature store.
struct FeaturesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "features", abstract: "List feature groups and read their records (online and offline).",
        subcommands: [List.self, Get.self, Records.self])

    struct List: ReportingCommand {
        static let configuration = CommandConfiguration(abstract: "List feature groups with their record counts.")

        @OptionGroup var output: OutputFormat

        func execute() throws {
            let store = try EngineContext.open().store
            let groups = try store.featureGroups()
            let counts = try groups.map { try store.featureRecordCount(group: $0.name) }
            if output.json {
                printJSON(
                    .array(
                        zip(groups, counts).map { group, count in
                            .object([
                                "name": .string(group.name), "recordIdentifier": .string(group.recordIdentifier),
                                "eventTime": .string(group.eventTime), "onlineStore": .bool(group.onlineStore),
                                "records": .int(count),
                                "features": .array(
                                    group.features.map {
                                        .object(["name": .string($0.name), "type": .string($0.type.rawValue)])
                                    }),
                            ])
                        }))
                return
            }
            if groups.isEmpty { print("no feature groups (a `features.ingest` step creates them)") }
            for (group, count) in zip(groups, counts) {
                print(
                    "\(group.name)  \(count) record(s)  id \(group.recordIdentifier)  event time \(group.eventTime)  "
                        + "online \(group.onlineStore ? "on" : "off")  \(group.features.count) feature(s)")
            }
        }
    }

    struct Get: ReportingCommand {
        static let configuration = CommandConfiguration(
            abstract: "The latest record of an id (by event time): the online read.")

        @Argument(help: "The feature group, e.g. mlops_credit_cards_risk.") var group: String
        @Argument(help: "The record identifier's value.") var id: String
        @OptionGroup var output: OutputFormat

        func execute() throws {
            let store = try EngineContext.open().store
            guard let record = try store.latestFeatureRecord(group: group, recordID: id) else {
                throw CLIError("feature group '\(group)' has no record with id '\(id)'")
            }
            if output.json {
                printJSON(record.json)
                return
            }
            print("\(group)  id \(record.recordID)  event time \(record.eventTime)")
            for (name, value) in record.features.sorted(by: { $0.key < $1.key }) {
                print("  \(name) = \(value.string ?? value.canonicalJSON)")
            }
        }
    }

    struct Records: ReportingCommand {
        static let configuration = CommandConfiguration(
            abstract: "Every record of a group (the offline read), or each id's latest as of a time.")

        @Argument(help: "The feature group.") var group: String

        @Option(name: .customLong("as-of"), help: "An event time (e.g. 2019-01-01): each id's latest record then.")
        var asOf: String?

        @OptionGroup var output: OutputFormat

        func execute() throws {
            let records = try EngineContext.open().store.featureRecords(group: group, asOf: asOf)
            if output.json {
                printJSON(.array(records.map(\.json)))
                return
            }
            for record in records {
                print("\(record.recordID)  \(record.eventTime)  \(JSONValue.object(record.features).canonicalJSON)")
            }
        }
    }
}
