import ArgumentParser

/// The `sluice` command: the one place where Sluice's parts are wired together.
public struct SluiceCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "sluice",
        abstract: "Run machine-learning pipelines locally, durably, and hand them to AWS when you outgrow one machine.",
        version: "0.1.0",
        subcommands: [
            ValidateCommand.self, GraphCommand.self, SchemaCommand.self, RunCommand.self,
            ResumeCommand.self, RetryCommand.self, CancelCommand.self, ApproveCommand.self, RejectCommand.self,
            FeaturesCommand.self, ExportCommand.self, AWSCommand.self, JobCommand.self,
            ExecutionsCommand.self, ShowCommand.self, LogsCommand.self,
            ModelsCommand.self, ModulesCommand.self, EndpointsCommand.self, KeysCommand.self, ServeCommand.self,
            DemoCommand.self, TriggersCommand.self, S3Command.self, MonitorCommand.self,
        ]
    )

    public init() {}
}

/// Parses the process arguments and runs the chosen subcommand, exiting with its status.
public func runSluice() async {
    await SluiceCommand.main()
}

/// The `sluice-bench` command: the benchmarks of BENCHMARKS.md, kept out of the user's `sluice --help`.
public struct SluiceBenchCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "sluice-bench",
        abstract: "Sluice's benchmarks: training, engine overhead and the serving benchmark server (BENCHMARKS.md).",
        version: "0.1.0",
        subcommands: [
            BenchTrainCommand.self, BenchEngineCommand.self, ServeBenchCommand.self, ConsoleBenchCommand.self,
            BenchDriftCommand.self,
        ]
    )

    public init() {}
}

/// Parses the process arguments and runs the chosen benchmark, exiting with its status.
public func runSluiceBench() async {
    await SluiceBenchCommand.main()
}
