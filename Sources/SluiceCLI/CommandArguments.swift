import ArgumentParser
import SluiceCore

/// A command whose errors reach the user as one line (`reportingErrors`): it writes `execute()`, and `run()`
/// comes with the conformance.
protocol ReportingCommand: ParsableCommand {
    func execute() throws
}

extension ReportingCommand {
    func run() throws { try reportingErrors(execute) }
}

/// A `ReportingCommand` that waits: on a pipeline, a server or the network.
protocol AsyncReportingCommand: AsyncParsableCommand {
    func execute() async throws
}

extension AsyncReportingCommand {
    func run() async throws { try await reportingErrors(execute) }
}

/// `--format text|json` of the commands that print records.
struct OutputFormat: ParsableArguments {
    @Option(help: "text or json.") var format: ListFormat = .text

    /// Whether the records are printed as JSON.
    var json: Bool { format == .json }
}

/// The EXECUTION argument: an execution id, or a prefix naming one execution.
struct ExecutionArgument: ParsableArguments {
    @Argument(help: "The execution id (or a unique prefix).") var execution: String

    /// Opens the home (running at most `maxParallel` task steps at once) and finds the execution named there.
    func open(maxParallel: Int = EngineContext.defaultMaxParallel) throws -> (
        context: EngineContext, record: ExecutionRecord
    ) {
        let context = try EngineContext.open(maxParallel: maxParallel)
        return (context, try context.findExecution(execution))
    }
}

/// An endpoint and one of its stages (production unless `--stage` says otherwise).
struct EndpointStage: ParsableArguments {
    @Argument(help: "The endpoint.") var endpoint: String
    @Option(help: "The stage.") var stage: String = "production"
}
