import ArgumentParser
import Foundation
import SluiceCore
import SluiceStore

extension ModelVersionRecord {
    var json: JSONValue {
        let model = registration
        var object: [String: JSONValue] = [
            "group": .string(model.group), "version": .int(version), "status": .string(model.status.rawValue),
            "artifactPath": .string(model.artifactPath), "artifactHash": .string(model.artifactHash),
            "inputHashes": .object(model.inputHashes.mapValues { .string($0) }),
            "createdAt": .string(Timestamp.iso8601(model.createdAt)),
        ]
        if let metrics = model.metrics { object["metrics"] = metrics }
        if let executionID = model.executionID { object["execution"] = .string(executionID) }
        if let stepName = model.stepName { object["step"] = .string(stepName) }
        return .object(object)
    }
}

/// A `Group/N` argument.
struct ModelVersionArgument: ExpressibleByArgument {
    var group: String
    var version: Int

    init?(argument: String) {
        guard let slash = argument.lastIndex(of: "/"), let version = Int(argument[argument.index(after: slash)...]),
            slash != argument.startIndex
        else { return nil }
        group = String(argument[..<slash])
        self.version = version
    }
}

/// `sluice models`: the model registry.
struct ModelsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "models", abstract: "List, inspect, approve, reject and alias registered model versions.",
        subcommands: [List.self, Show.self, Approve.self, Reject.self, Alias.self, Tag.self])

    /// Who runs this command: `$USER`, else `$LOGNAME`, else the login name of the process's user, else `uid N`.
    static var currentUser: String {
        let environment = ProcessInfo.processInfo.environment
        for name in ["USER", "LOGNAME"] {
            if let value = environment[name], !value.isEmpty { return value }
        }
        if let entry = getpwuid(getuid()), let name = entry.pointee.pw_name, name.pointee != 0 {
            return String(cString: name)
        }
        return "uid \(getuid())"
    }

    struct List: ReportingCommand {
        static let configuration = CommandConfiguration(
            abstract: "List model package groups, or the versions of one group.")

        @Argument(help: "A model package group; without it, every group.") var group: String?
        @OptionGroup var output: OutputFormat

        func execute() throws {
            let store = try EngineContext.open().store
            guard let group else {
                let groups = try store.modelGroups()
                if output.json {
                    printJSON(.array(groups.map { ["name": .string($0.name), "versions": .int($0.versionCount)] }))
                } else {
                    for entry in groups { print("\(entry.name)  \(entry.versionCount) version(s)") }
                }
                return
            }
            let versions = try store.modelVersions(group: group)
            if versions.isEmpty, try store.modelGroups().allSatisfy({ $0.name != group }) {
                throw CLIError("no model package group '\(group)'; list groups with `sluice models list`")
            }
            if output.json {
                printJSON(.array(versions.map(\.json)))
                return
            }
            for version in versions {
                print("\(version.reference)  \(version.status.rawValue)  \(version.executionID ?? "-")")
            }
        }
    }

    struct Show: ReportingCommand {
        static let configuration = CommandConfiguration(abstract: "Show one version (Group/N) and its audit log.")

        @Argument(help: "Group/N, e.g. DiabetesModelGroup/1.") var version: ModelVersionArgument

        func execute() throws {
            let store = try EngineContext.open().store
            guard let record = try store.modelVersion(group: version.group, version: version.version) else {
                throw CLIError(
                    "no model version \(version.group)/\(version.version); list them with "
                        + "`sluice models list \(version.group)`")
            }
            var json = record.json.object ?? [:]
            let tags = try store.modelTags(group: version.group, version: version.version)
            if !tags.isEmpty { json["tags"] = .object(tags.mapValues { .string($0) }) }
            printJSON(.object(json))
            for event in try store.modelEvents(group: version.group) where event.version == version.version {
                let alias = event.alias.map { " \($0)" } ?? ""
                print("\(Timestamp.iso8601(event.time))  \(event.kind)\(alias)  by \(event.by)  \(event.reason)")
            }
        }
    }

    /// What `approve` and `reject` take: the version, why, and who decides.
    struct Decision: ParsableArguments {
        @Argument(help: "Group/N.") var version: ModelVersionArgument
        @Option(help: "Why.") var reason: String = ""
        @Option(help: "Who decides (default: $USER, else your login name).") var by: String = ModelsCommand.currentUser

        func record(_ status: ModelApprovalStatus) throws {
            try reportingErrors { try decide(version, status, by: by, reason: reason) }
        }
    }

    struct Approve: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Approve a version (Group/N).")
        @OptionGroup var decision: Decision

        func run() throws { try decision.record(.approved) }
    }

    struct Reject: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Reject a version (Group/N).")
        @OptionGroup var decision: Decision

        func run() throws { try decision.record(.rejected) }
    }

    struct Alias: ReportingCommand {
        static let configuration = CommandConfiguration(abstract: "Point an alias (e.g. champion) at Group/N.")
        @Argument(help: "Group/N.") var version: ModelVersionArgument
        @Argument(help: "The alias name.") var alias: String
        @Option(help: "Why.") var reason: String = ""
        @Option(help: "Who moves it (default: $USER, else your login name).") var by: String = ModelsCommand.currentUser

        func execute() throws {
            let store = try EngineContext.open().store
            try store.setAlias(
                group: version.group, alias: alias, version: version.version, by: by, reason: reason,
                now: Date().timeIntervalSince1970)
            print("\(version.group)@\(alias) → \(version.group)/\(version.version)")
        }
    }
}

extension ModelsCommand {
    struct Tag: ReportingCommand {
        static let configuration = CommandConfiguration(
            abstract: "Set key=value tags on a version (Group/N); `key=` removes a tag; without pairs, list its tags.")
        @Argument(help: "Group/N.") var version: ModelVersionArgument
        @Argument(help: "key=value pairs.") var tags: [String] = []

        func execute() throws {
            let store = try EngineContext.open().store
            var changes: [(String, String?)] = []
            for pair in tags {
                guard let equals = pair.firstIndex(of: "="), equals != pair.startIndex else {
                    throw CLIError("'\(pair)' is not key=value; write e.g. dataset=2026-11")
                }
                let value = String(pair[pair.index(after: equals)...])
                changes.append((String(pair[..<equals]), value.isEmpty ? nil : value))
            }
            for (key, value) in changes {
                try store.setModelTag(group: version.group, version: version.version, key: key, value: value)
            }
            if changes.isEmpty, try store.modelVersion(group: version.group, version: version.version) == nil {
                throw CLIError(
                    "no model version \(version.group)/\(version.version); list them with "
                        + "`sluice models list \(version.group)`")
            }
            for (key, value) in try store.modelTags(group: version.group, version: version.version).sorted(by: {
                $0.key < $1.key
            }) {
                print("\(key)=\(value)")
            }
        }
    }
}

private func decide(_ version: ModelVersionArgument, _ status: ModelApprovalStatus, by: String, reason: String) throws {
    let store = try EngineContext.open().store
    let record = try store.setApprovalStatus(
        group: version.group, version: version.version, status: status, by: by, reason: reason,
        now: Date().timeIntervalSince1970)
    print("\(record.reference)  \(record.status.rawValue)")
}
