import ArgumentParser
import Foundation
import SluiceCore
import SluiceEngine
import SluiceStore

/// Output format of listing commands.
enum ListFormat: String, ExpressibleByArgument, CaseIterable {
    case text, json
}

func printJSON(_ value: JSONValue) {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
    print(String(decoding: (try? encoder.encode(value)) ?? Data(), as: UTF8.self))
}

extension ExecutionRecord {
    var json: JSONValue {
        var object: [String: JSONValue] = [
            "id": .string(id), "pipeline": .string(pipelineName), "pipelineVersion": .string(pipelineHash),
            "status": .string(status.rawValue), "parameters": .object(parameters),
            "createdAt": .string(Timestamp.iso8601(createdAt)),
        ]
        if let startedAt { object["startedAt"] = .string(Timestamp.iso8601(startedAt)) }
        if let finishedAt { object["finishedAt"] = .string(Timestamp.iso8601(finishedAt)) }
        if let error { object["error"] = ["error": .string(error.error), "cause": .string(error.cause)] }
        return .object(object)
    }

    /// `json` with what fired the execution, for `executions --trigger`.
    func json(firing: TriggerFiring?) -> JSONValue {
        guard let firing, case .object(var object) = json else { return json }
        var fired: [String: JSONValue] = ["key": .string(firing.key), "firedAt": .double(firing.firedAt)]
        if let time = firing.scheduledTime { fired["scheduledTime"] = .int(Int(time)) }
        object["firing"] = .object(fired)
        return .object(object)
    }
}

/// `sluice executions`: the newest executions.
struct ExecutionsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "executions", abstract: "List executions.")

    @OptionGroup var output: OutputFormat
    @Option(help: "How many, newest first.") var limit: Int = 20
    @Option(help: "Only the executions this trigger started (a name from `sluice triggers list`).") var trigger: String?

    func run() throws {
        let context = try EngineContext.open()
        let executions: [ExecutionRecord]
        var firings: [String: TriggerFiring] = [:]
        if let trigger {
            let started = try context.store.firings(triggerName: trigger).prefix(limit)
            firings = Dictionary(started.map { ($0.executionID, $0) }, uniquingKeysWith: { a, _ in a })
            executions = try started.compactMap { try context.store.execution(id: $0.executionID) }
        } else {
            executions = try context.store.executions(limit: limit)
        }
        if output.json {
            printJSON(.array(executions.map { $0.json(firing: firings[$0.id]) }))
            return
        }
        for execution in executions {
            let seconds = execution.finishedAt.map { $0 - (execution.startedAt ?? execution.createdAt) }
            print(
                [
                    execution.id, execution.status.rawValue.padding(toLength: 9, withPad: " ", startingAt: 0),
                    execution.pipelineName, seconds.map(LiveDisplay.format) ?? "",
                ].joined(separator: "  "))
        }
    }
}

/// `sluice show EXECUTION`: steps, attempts, outputs, durations, cache hits, lineage.
struct ShowCommand: ReportingCommand {
    static let configuration = CommandConfiguration(commandName: "show", abstract: "Show one execution in detail.")

    @OptionGroup var execution: ExecutionArgument
    @OptionGroup var output: OutputFormat

    func execute() throws {
        let (context, record) = try execution.open()
        let steps = try context.store.steps(executionID: record.id)
        let attempts = Dictionary(grouping: try context.store.attempts(executionID: record.id), by: \.step)
        if output.json {
            printJSON(executionDetailJSON(record, steps: steps, attempts: attempts))
            return
        }
        print("execution \(record.id)  \(record.pipelineName)  \(record.status.rawValue)")
        print(
            "  version \(record.pipelineHash.prefix(19))…  parameters \(JSONValue.object(record.parameters).canonicalJSON)"
        )
        if let error = record.error { print("  \(error.error): \(error.cause)") }
        let versions = try catalogVersions(context.store.pipelineDefinition(hash: record.pipelineHash))
        if !versions.isEmpty { print("  catalog modules \(versions.joined(separator: ", "))") }
        for step in steps {
            let now = Date().timeIntervalSince1970
            let total = step.startedAt.map { (step.finishedAt ?? now) - $0 }
            let last = (attempts[step.name] ?? []).last { $0.number == step.attempt }
            var line = "  \(step.name)  \(step.status.rawValue)  attempt \(step.attempt)"
            if let seconds = last.map({ ($0.finishedAt ?? now) - $0.startedAt }) ?? total {
                line += "  \(LiveDisplay.format(seconds))"
            }
            if step.attempt > 1, let total { line += "  (\(LiveDisplay.format(total)) since attempt 1 started)" }
            if step.cacheHit { line += "  (cache hit)" }
            print(line)
            for attempt in attempts[step.name] ?? [] where attempt.status != .succeeded || attempt.takeover != nil {
                var line = "      attempt \(attempt.number): \(attempt.status.rawValue)"
                switch attempt.takeover {
                case .adopted: line += " (adopted: its process outlived the driver and was followed to its end)"
                case .killed: line += " (its process group was still running and was killed before a new attempt)"
                case .gone, nil: break
                }
                print(line + " \(attempt.error?.description ?? "")")
            }
            if let outputs = step.outputs, !outputs.isEmpty {
                print("      outputs \(JSONValue.object(outputs).canonicalJSON)")
            }
            if let error = step.error, step.status != .succeeded { print("      \(error.error): \(error.cause)") }
        }
        for use in try context.store.lineage(executionID: record.id) {
            print("  artifact \(use.role) by \(use.step)#\(use.attempt) \(use.port): \(use.hash.prefix(19))…")
        }
    }
}

/// The catalog versions (`Name@N`) of the modules a stored pipeline definition ran.
func catalogVersions(_ definition: String?) -> [String] {
    guard let definition, let pipeline = try? JSONDecoder().decode(Pipeline.self, from: Data(definition.utf8)) else {
        return []
    }
    return Set(pipeline.modules.values.compactMap { $0.catalog?.reference }).sorted()
}

/// One execution with its steps, attempts and outputs, as `sluice show --format json` and the server's
/// `GET /api/executions/{id}` answer it.
func executionDetailJSON(
    _ record: ExecutionRecord, steps: [StepRecord], attempts: [String: [AttemptRecord]]
) -> JSONValue {
    var object = record.json.object ?? [:]
    object["steps"] = .array(
        steps.map { step in
            var value: [String: JSONValue] = [
                "name": .string(step.name), "status": .string(step.status.rawValue),
                "attempt": .int(step.attempt), "cacheHit": .bool(step.cacheHit),
                "outputs": step.outputs.map(JSONValue.object) ?? .null,
                "attempts": .array(
                    (attempts[step.name] ?? []).map {
                        [
                            "number": .int($0.number), "status": .string($0.status.rawValue),
                            "startedAt": .string(Timestamp.iso8601($0.startedAt)),
                            "finishedAt": $0.finishedAt.map { .string(Timestamp.iso8601($0)) } ?? .null,
                            "takeover": $0.takeover.map { .string($0.rawValue) } ?? .null,
                        ]
                    }),
            ]
            if let error = step.error {
                value["error"] = ["error": .string(error.error), "cause": .string(error.cause)]
            }
            return .object(value)
        })
    return .object(object)
}

/// `sluice logs EXECUTION [STEP] [--follow]`: the event log and the steps' stdout/stderr.
struct LogsCommand: AsyncReportingCommand {
    static let configuration = CommandConfiguration(
        commandName: "logs", abstract: "Print an execution's events and its steps' output logs.")

    @OptionGroup var execution: ExecutionArgument
    @Argument(help: "Only this step.") var step: String?

    @Flag(help: "Keep printing new events and step output, as it is written, until the execution finishes.")
    var follow = false

    func execute() async throws {
        let (context, record) = try execution.open()
        var after: Int64 = 0
        var printed: [String: UInt64] = [:]
        var lastFile: String?
        // Written straight to the file descriptor, so a pipe sees each line as soon as it is read.
        func emit(_ text: String) { FileHandle.standardOutput.write(Data(text.utf8)) }
        while true {
            let finished = try context.store.execution(id: record.id)?.status.isFinished ?? true
            for event in try context.store.events(executionID: record.id, after: after)
            where step == nil || event.step == step {
                after = event.sequence
                let time = Date(timeIntervalSince1970: event.time).formatted(.iso8601)
                let subject = event.step.map { "\($0)#\(event.attempt ?? 0) " } ?? ""
                emit("\(time) \(subject)\(event.kind) \(event.message)\n")
            }
            // Each attempt's stdout and stderr from where the previous pass stopped: output as it is written.
            for attempt in try context.store.attempts(executionID: record.id)
            where step == nil || attempt.step == step {
                let folder = "\(context.home.executionsPath)/\(record.id)/\(attempt.step)/\(attempt.number)"
                for name in ["stdout.log", "stderr.log"] {
                    let path = "\(folder)/\(name)"
                    guard let file = FileHandle(forReadingAtPath: path) else { continue }
                    defer { try? file.close() }
                    try file.seek(toOffset: printed[path] ?? 0)
                    guard let data = try file.readToEnd(), !data.isEmpty else { continue }
                    printed[path, default: 0] += UInt64(data.count)
                    if lastFile != path {
                        emit("── \(attempt.step) attempt \(attempt.number) \(name)\n")
                        lastFile = path
                    }
                    emit(String(decoding: data, as: UTF8.self))
                }
            }
            if !follow || finished { break }
            try await Task.sleep(nanoseconds: 200_000_000)
        }
    }
}
