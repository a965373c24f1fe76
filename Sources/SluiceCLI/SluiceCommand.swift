import ArgumentParser

/// The `sluice` command: the one place where Sluice's parts are wired together.
public struct SluiceCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "sluice",
        abstract: "Run machine-learning pipelines locally, durably, and hand them to AWS when you outgrow one machine.",
        version: "0.1.0",
        subcommands: [
            ValidateCommand.self, GraphCommand.self, SchemaCommand.self, BenchTrainCommand.self, RunCommand.self,
            ResumeCommand.self, RetryCommand.self, CancelCommand.self, ApproveCommand.self, RejectCommand.self,
            FeaturesCommand.self,
            ExecutionsCommand.self, ShowCommand.self, LogsCommand.self, BenchEngineCommand.self, ServeBenchCommand.self,
            ModelsCommand.self, EndpointsCommand.self, KeysCommand.self, ServeCommand.self, DemoCommand.self,
            TriggersCommand.self,
        ]
    )

    public init() {}
}

/// Parses the process arguments and runs the chosen subcommand, exiting with its status.
public func runSluice() async {
    await SluiceCommand.main()
}
