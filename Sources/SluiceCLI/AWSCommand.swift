import ArgumentParser
import Foundation
import SluiceCloud
import SluiceCore
import SluiceEngine

/// `sluice aws deploy|start|status|approve|reject`: a pipeline's exported state machine in AWS Step Functions (or
/// any endpoint speaking its API, through `AWS_ENDPOINT_URL`).
struct AWSCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "aws",
        abstract: "Deploy, start and follow a pipeline in AWS Step Functions; answer its approvals.",
        subcommands: [Deploy.self, Start.self, Status.self, Approve.self, Reject.self])

    static func runner() throws -> StepFunctionsRunner {
        let configuration = try AWSConfiguration()
        return StepFunctionsRunner(
            client: try StepFunctionsClient(configuration: configuration),
            functions: try LambdaClient(configuration: configuration))
    }

    struct Deploy: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "deploy",
            abstract: "Create or update the pipeline's state machine (named after the stack); prints its ARN.")

        @Argument(help: "The pipeline file.") var pipeline: String
        @Option(help: "The state machine's name (default: the pipeline's name).") var stack: String?
        @Option(help: "The IAM role ARN the state machine runs as.") var role: String
        @Option(
            help: ArgumentHelp(
                "The IAM role ARN of the Lambda functions deploy creates from the modules' handler files (each "
                    + "Lambda module whose function no --set names)."))
        var functionRole: String?
        @Option(
            name: .customLong("set"),
            help:
                "A placeholder's value, NAME=VALUE (repeatable; `sluice export stepfunctions` lists them in NOTES.md).")
        var values: [String] = []

        func run() async throws {
            try await reportingErrors {
                let loaded = try loadForExport(pipeline)
                let (export, diagnostics) = StepFunctionsExporter.export(loaded)
                report(diagnostics)
                guard let export else { throw ExitCode.failure }
                var filled = try keyValues(values, option: "--set")
                if export.substitutions["Region"] != nil, filled["Region"] == nil {
                    filled["Region"] = try AWSConfiguration().region
                }
                let name = stack ?? StepFunctionsRunner.machineName(for: loaded)
                let runner = try AWSCommand.runner()
                let functions = try await runner.deployFunctions(
                    export, pipeline: loaded, machine: name, roleArn: functionRole, values: &filled)
                for (function, created) in functions {
                    print("\(created ? "created" : "updated") function \(function)")
                }
                let deployment = try await runner.deploy(
                    export, name: name, roleArn: role, values: filled, store: S3Command.store())
                if let bucket = deployment.createdBucket { print("created bucket s3://\(bucket)") }
                for uri in deployment.uploaded { print("uploaded \(uri)") }
                for (path, uri) in deployment.absent {
                    FileHandle.standardError.write(
                        Data(
                            ("warning: \(path): nothing there to upload; the machine reads \(uri), so put the data "
                                + "there before starting\n").utf8))
                }
                print("\(deployment.created ? "created" : "updated") state machine \(deployment.arn)")
            }
        }
    }

    struct Start: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "start", abstract: "Start an execution of the deployed pipeline; prints its ARN.")

        @Argument(help: "The pipeline file.") var pipeline: String
        @Option(help: "The state machine's name (default: the pipeline's name).") var stack: String?
        @Option(help: "The execution's name (default: the pipeline's name and a random suffix).") var name: String?
        @Option(
            name: [.customShort("p"), .customLong("parameter")], help: "A parameter value, KEY=VALUE (repeatable).")
        var parameters: [String] = []

        func run() async throws {
            try await reportingErrors {
                let loaded = try loadForExport(pipeline)
                // Checked as `sluice run -p` checks them, before any request; the machine merges the defaults.
                let input = try ExecutionEngine.parameterValues(keyValues(parameters, option: "-p"), for: loaded)
                let machine = stack ?? StepFunctionsRunner.machineName(for: loaded)
                let execution = name ?? "\(machine)-\(UUID().uuidString.prefix(8).lowercased())"
                print(try await AWSCommand.runner().start(machine: machine, executionName: execution, input: input))
            }
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "status",
            abstract: "Draw an execution's history; --follow draws it as it happens and exits with its outcome.")

        @Argument(help: "The execution ARN (as `sluice aws start` prints it).") var execution: String
        @Flag(help: "Keep drawing until the execution ends; exit 0 only when it succeeded.") var follow = false
        @Option(help: "Seconds between two reads of the history while following.") var interval: Double = 0.5

        func run() async throws {
            try await reportingErrors {
                let outcome = try await AWSCommand.runner().status(
                    of: execution, follow: follow, pollInterval: .milliseconds(Int(interval * 1000)),
                    emit: printNow)
                var line = "execution \(outcome.name)  \(outcome.status)"
                if let error = outcome.error { line += "  \(error)" + (outcome.cause.map { ": \($0)" } ?? "") }
                printNow(line)
                if follow, outcome.status != "SUCCEEDED" { throw ExitCode.failure }
            }
        }
    }

    struct Approve: AsyncParsableCommand {
        static let configuration = Decision.configuration("approve")
        @OptionGroup var decision: Decision

        func run() async throws { try await decision.send(approve: true) }
    }

    struct Reject: AsyncParsableCommand {
        static let configuration = Decision.configuration("reject")
        @OptionGroup var decision: Decision

        func run() async throws { try await decision.send(approve: false) }
    }

    /// What `approve` and `reject` take: the waiting step or its task token, and why.
    struct Decision: ParsableArguments {
        /// The `approve` or `reject` command's configuration.
        static func configuration(_ verb: String) -> CommandConfiguration {
            CommandConfiguration(
                commandName: verb,
                abstract: "\(verb.capitalized) the step an execution waits at "
                    + "(EXECUTION STEP), or the task waiting at --token.")
        }

        @Argument(help: "The execution ARN.") var execution: String?
        @Argument(help: "The approval step's name.") var step: String?
        @Option(help: "The task token itself (as the approval e-mail carries it), instead of EXECUTION STEP.")
        var token: String?
        @Option(help: "Why (kept as the failure's cause when rejecting).") var reason: String?

        func send(approve: Bool) async throws {
            try await reportingErrors {
                let runner = try AWSCommand.runner()
                let verb = approve ? "approved" : "rejected"
                switch (execution, step, token) {
                case (let execution?, let step?, nil):
                    try await runner.decide(executionArn: execution, step: step, approve: approve, reason: reason)
                    print("\(verb) step '\(step)' of \(execution)")
                case (nil, nil, let token?):
                    try await runner.decide(token: token, approve: approve, reason: reason)
                    print("\(verb) the task waiting at token \(token.prefix(10))…")
                default:
                    throw CLIError("give either EXECUTION STEP or --token TOKEN")
                }
            }
        }
    }
}

/// `KEY=VALUE` arguments by key.
private func keyValues(_ arguments: [String], option: String) throws -> [String: String] {
    var values: [String: String] = [:]
    for argument in arguments {
        guard let equals = argument.firstIndex(of: "="), equals != argument.startIndex else {
            throw CLIError("\(option) \(argument): write it as NAME=VALUE")
        }
        values[String(argument[..<equals])] = String(argument[argument.index(after: equals)...])
    }
    return values
}

/// Prints a line at once (standard output is block-buffered when it is not a terminal), so a follower sees each
/// state as it happens.
private func printNow(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}
