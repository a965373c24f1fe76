import ArgumentParser
import Foundation
import SluiceCore
import SluiceEngine
import SluiceSpec
import SluiceStore

/// `sluice triggers enable|disable|list`: which pipelines start by themselves inside `sluice serve`.
struct TriggersCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "triggers", abstract: "Enable, disable and list the triggers that `sluice serve` runs.",
        subcommands: [EnableTriggersCommand.self, DisableTriggersCommand.self, ListTriggersCommand.self])
}

struct EnableTriggersCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "enable",
        abstract: "Record this version of a pipeline and its `triggers:`; a running server starts firing them.")

    @Argument(help: "The pipeline file.") var pipeline: String

    @Option(name: [.customShort("p"), .customLong("parameter")], help: "A parameter value, KEY=VALUE (repeatable).")
    var parameters: [String] = []

    func run() throws {
        let (loaded, diagnostics) = PipelineLoader.load(
            path: pipeline,
            options: ValidationOptions(knownBuiltins: BuiltinCatalog.names, catalog: try SluiceHome.resolve().catalog())
        )
        for diagnostic in diagnostics { FileHandle.standardError.write(Data((diagnostic.description + "\n").utf8)) }
        guard let loaded else {
            printError("\(pipeline) does not validate (see above); no trigger was enabled")
            throw ExitCode.failure
        }
        guard !loaded.triggers.isEmpty else {
            printError("\(pipeline) has no 'triggers:'; add one (files, every, schedule or on) and enable it again")
            throw ExitCode.failure
        }
        let overrides = try parameterOverrides(parameters, of: loaded)
        try reportingErrors {
            let context = try EngineContext.open()
            // Checks the parameters now, as the first firing would.
            let version = try context.engine.prepare(pipeline: loaded, overrides: overrides, id: "enable")
            let path = SpecPaths.resolve(pipeline, in: ".")
            let names = loaded.triggers.indices.map { "\(loaded.name):\($0 + 1)" }
            if let other = try context.store.triggers().first(where: {
                $0.enabled && $0.pipelinePath != path && names.contains($0.name)
            }) {
                throw CLIError(
                    "trigger \(other.name) is enabled from \(other.pipelinePath); "
                        + "run `sluice triggers disable \(other.pipelinePath)` first")
            }
            let enabled = try context.store.enableTriggers(
                pipelinePath: path,
                pipeline: (version.pipelineName, version.pipelineHash, version.pipelineDefinition), names: names,
                parameters: overrides, now: context.engine.clock.now)
            for record in enabled {
                print("enabled \(record.name)  \(loaded.triggers[record.index].summary)")
            }
        }
    }
}

struct DisableTriggersCommand: ReportingCommand {
    static let configuration = CommandConfiguration(
        commandName: "disable", abstract: "Stop the triggers of a pipeline (their history is kept).")

    @Argument(help: "The pipeline file, as given to `enable`.") var pipeline: String

    func execute() throws {
        let context = try EngineContext.open()
        let path = SpecPaths.resolve(pipeline, in: ".")
        let count = try context.store.disableTriggers(pipelinePath: path)
        guard count > 0 else {
            throw CLIError("no trigger of \(path) is enabled; list them with `sluice triggers list`")
        }
        print("disabled \(count) trigger\(count == 1 ? "" : "s") of \(path)")
    }
}

struct ListTriggersCommand: ReportingCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "Triggers with their next firing and their last firing's execution.")

    @OptionGroup var output: OutputFormat

    func execute() throws {
        let context = try EngineContext.open()
        let now = context.engine.clock.now
        var rows: [JSONValue] = []
        for record in try context.store.triggers() {
            let trigger = try context.store.pipelineDefinition(hash: record.pipelineHash)
                .flatMap { try? JSONDecoder().decode(Pipeline.self, from: Data($0.utf8)) }?
                .triggers[safe: record.index]
            var row: [String: JSONValue] = [
                "name": .string(record.name), "pipeline": .string(record.pipelinePath),
                "pipelineVersion": .string(record.pipelineHash), "enabled": .bool(record.enabled),
                "trigger": .string(trigger?.summary ?? "?"), "enabledAt": .double(record.anchor),
            ]
            if !record.parameters.isEmpty {
                row["parameters"] = .object(record.parameters.mapValues { .string($0) })
            }
            let last = try context.store.lastFiring(triggerID: record.id)
            if record.enabled, let schedule = trigger?.schedule {
                let after = max(last?.scheduledTime ?? Int64(record.anchor.rounded(.up)) - 1, Int64(now) - 1)
                if let next = schedule.firing(after: after, anchor: Int64(record.anchor.rounded(.up))) {
                    row["nextFiring"] = .double(Double(next))
                }
            }
            if let last {
                var fired: [String: JSONValue] = [
                    "key": .string(last.key), "firedAt": .double(last.firedAt),
                    "execution": .string(last.executionID),
                ]
                if let status = try context.store.execution(id: last.executionID)?.status {
                    fired["status"] = .string(status.rawValue)
                }
                row["lastFiring"] = .object(fired)
            }
            rows.append(.object(row))
        }
        if output.json {
            printJSON(.array(rows))
            return
        }
        for row in rows {
            guard case .object(let row) = row else { continue }
            let next = row["nextFiring"]?.number.map { "next " + Self.utc($0) } ?? ""
            let last =
                row["lastFiring"]?.object.map { last in
                    "last \(Self.utc(last["firedAt"]?.number ?? 0)) → \(last["execution"]?.string ?? "")"
                        + " \(last["status"]?.string ?? "")"
                } ?? "never fired"
            print(
                [
                    row["name"]?.string ?? "", row["enabled"] == .bool(true) ? "enabled " : "disabled",
                    row["trigger"]?.string ?? "", next, last,
                ].filter { !$0.isEmpty }.joined(separator: "  "))
        }
    }

    static func utc(_ seconds: Double) -> String {
        let formatter = ISO8601DateFormatter()
        return formatter.string(from: Date(timeIntervalSince1970: seconds.rounded(.down)))
    }
}

extension Array {
    subscript(safe index: Int) -> Element? { indices.contains(index) ? self[index] : nil }
}
