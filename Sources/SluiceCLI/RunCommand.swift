import ArgumentParser
import Foundation
import SluiceCore
import SluiceEngine
import SluiceSpec
import SluiceStore

/// `sluice run PIPELINE`: validate, record, and drive a new execution.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run", abstract: "Run a pipeline: every transition is recorded in .sluice/ before it shows.")

    @Argument(help: "The pipeline file.") var pipeline: String

    @Option(name: [.customShort("p"), .customLong("parameter")], help: "A parameter value, KEY=VALUE (repeatable).")
    var parameters: [String] = []

    @OptionGroup var drive: DriveOptions
    @Flag(help: "Record the execution, drive it from a background process, and return at once.") var detach = false

    func run() async throws {
        let catalog: [CatalogModuleVersion]
        do {
            catalog = try SluiceHome.resolve().catalog()
        } catch {
            printError("cannot read the module catalog: \(error)")
            throw ExitCode.failure
        }
        let (loaded, diagnostics) = PipelineLoader.load(
            path: pipeline, options: ValidationOptions(knownBuiltins: BuiltinCatalog.names, catalog: catalog))
        for diagnostic in diagnostics { FileHandle.standardError.write(Data((diagnostic.description + "\n").utf8)) }
        guard let loaded else {
            printError("\(pipeline) does not validate (see above); nothing was run")
            throw ExitCode.failure
        }
        let overrides = try parameterOverrides(parameters, of: loaded)
        try await reportingErrors {
            let context = try EngineContext.open(maxParallel: drive.maxParallel)
            let id = EngineContext.newExecutionID()
            try context.runner.create(pipeline: loaded, overrides: overrides, id: id)
            if detach {
                try startDetached(context: context, id: id, pipelineName: loaded.name)
                return
            }
            let display = LiveDisplay(explainCache: drive.explainCache)
            display.line("execution \(id)  \(loaded.name)  (\(loaded.steps.count) steps)")
            let status = try await context.claimAndDrive(executionID: id, pipeline: loaded, display: display)
            try summarize(context: context, id: id, pipeline: loaded, status: status, display: display)
        }
    }
}

/// How `run` and `resume` drive an execution in this process; `run --detach` passes them on to the `resume` it
/// starts.
struct DriveOptions: ParsableArguments {
    @Option(help: "Task steps run at once.") var maxParallel: Int = EngineContext.defaultMaxParallel
    @Flag(help: "Say for each cached step why it hit or missed.") var explainCache = false

    /// The same options as command-line arguments.
    var arguments: [String] { ["--max-parallel", String(maxParallel)] + (explainCache ? ["--explain-cache"] : []) }
}

extension RunCommand {
    /// Starts `sluice resume ID` in a new session (no terminal: closing it or Ctrl-C does not stop the run), its
    /// output in the execution's `run.log`; the child claims the lease like any resume.
    func startDetached(context: EngineContext, id: String, pipelineName: String) throws {
        let folder = "\(context.home.executionsPath)/\(id)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let log = "\(folder)/run.log"
        let pid = try spawnDetached(arguments: ["resume", id] + drive.arguments, log: log)
        print("execution \(id)  \(pipelineName)  started in the background (process \(pid), output in \(log))")
        print("  follow:  sluice logs \(id) --follow")
        print("  show:    sluice show \(id)")
        print("  cancel:  sluice cancel \(id)")
    }
}

/// Spawns this executable with `arguments` in a new session, stdin from /dev/null and stdout/stderr appended to
/// `log`; does not wait for it.
func spawnDetached(arguments: [String], log: String) throws -> pid_t {
    let executable =
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    // Nothing but stdin, stdout and stderr is inherited: an open pipe or socket of whoever started `sluice run
    // --detach` (a script reading its output, a supervisor waiting on it) would otherwise stay open until the run ends.
    let inherited = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd"))?.compactMap { Int32($0) }
    for descriptor in inherited ?? [] where descriptor > 2 {
        posix_spawn_file_actions_addclose(&actions, descriptor)
    }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_CREAT | O_APPEND, 0o644)
    posix_spawn_file_actions_adddup2(&actions, 1, 2)
    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    // POSIX_SPAWN_SETSID (glibc ≥ 2.26; the header hides the name behind _GNU_SOURCE).
    let setsid: Int16 = 0x80
    posix_spawnattr_setflags(&attributes, setsid)
    let argv = ([executable] + arguments).map { strdup($0) } + [nil]
    defer { for pointer in argv { free(pointer) } }
    var pid: pid_t = 0
    let result = posix_spawn(&pid, executable, &actions, &attributes, argv, environ)
    guard result == 0 else {
        throw CLIError("cannot start the background run (\(executable)): \(String(cString: strerror(result)))")
    }
    return pid
}

/// Prints the end-of-run summary and, on failure, the command that resumes or retries; exits non-zero unless
/// the execution succeeded.
func summarize(
    context: EngineContext, id: String, pipeline: Pipeline, status: ExecutionStatus, display: LiveDisplay
) throws {
    let execution = try context.store.execution(id: id)
    let steps = try context.store.steps(executionID: id)
    let counts = Dictionary(grouping: steps, by: \.status).mapValues(\.count)
    let seconds = (execution?.finishedAt ?? 0) - (execution?.startedAt ?? 0)
    let parts = StepStatus.allCases.compactMap { status in counts[status].map { "\($0) \(status.rawValue)" } }
    display.line(
        "\(status.rawValue): execution \(id) in \(LiveDisplay.format(max(0, seconds)))  (\(parts.joined(separator: ", ")))"
    )
    for product in RunSummary.products(pipeline: pipeline, steps: steps) { display.line("  " + product) }
    guard status == .succeeded else {
        if let error = execution?.error { display.line("  \(error.error): \(error.cause)") }
        if let execution, RunSummary.retryCanSucceed(pipeline: pipeline, execution: execution, steps: steps) {
            display.line("retry from the failed step:  sluice retry \(id)")
        }
        throw ExitCode.failure
    }
}

/// `sluice resume EXECUTION`: continue an execution whose process died.
struct ResumeCommand: AsyncReportingCommand {
    static let configuration = CommandConfiguration(
        commandName: "resume",
        abstract: "Continue an interrupted execution: succeeded steps keep their outputs, interrupted ones re-run.")

    @OptionGroup var execution: ExecutionArgument
    @OptionGroup var drive: DriveOptions

    func execute() async throws {
        let (context, record) = try execution.open(maxParallel: drive.maxParallel)
        let pipeline = try context.storedPipeline(of: record)
        let display = LiveDisplay(explainCache: drive.explainCache)
        display.line("resuming execution \(record.id)  \(record.pipelineName)")
        let status = try await context.claimAndDrive(executionID: record.id, pipeline: pipeline, display: display)
        try summarize(context: context, id: record.id, pipeline: pipeline, status: status, display: display)
    }
}

/// `sluice retry EXECUTION [--from STEP]`: run a failed execution again, reusing its succeeded steps.
struct RetryCommand: AsyncReportingCommand {
    static let configuration = CommandConfiguration(
        commandName: "retry",
        abstract: "Re-run a failed or cancelled execution, reusing every succeeded step (or re-running from STEP).")

    @OptionGroup var execution: ExecutionArgument
    @Option(help: "Re-run this step and everything after it, even if they succeeded.") var from: String?

    func execute() async throws {
        let (context, record) = try execution.open()
        guard record.status == .failed || record.status == .cancelled || from != nil else {
            throw CLIError(
                "execution \(record.id) is \(record.status.rawValue); only failed or cancelled ones retry")
        }
        guard !(record.status == .running || record.status == .queued) else {
            throw CLIError("execution \(record.id) is \(record.status.rawValue); cancel it first")
        }
        let pipeline = try context.storedPipeline(of: record)
        var reset = Set(
            try context.store.steps(executionID: record.id).filter { $0.status != .succeeded }.map(\.name))
        if let from {
            guard pipeline.step(named: from) != nil else {
                let hint = closestMatch(to: from, in: pipeline.steps.map(\.name)).map { "; did you mean '\($0)'?" }
                throw CLIError("--from \(from): no such step in \(pipeline.name)\(hint ?? "")")
            }
            reset.formUnion(pipeline.graph.reachable(from: [from]))
        }
        try context.store.prepareRetry(
            executionID: record.id, steps: Array(reset), now: Date().timeIntervalSince1970)
        let display = LiveDisplay()
        display.line("retrying execution \(record.id): \(reset.count) step(s) to run again")
        let status = try await context.claimAndDrive(executionID: record.id, pipeline: pipeline, display: display)
        try summarize(context: context, id: record.id, pipeline: pipeline, status: status, display: display)
    }
}

/// `sluice cancel EXECUTION`.
struct CancelCommand: ReportingCommand {
    static let configuration = CommandConfiguration(
        commandName: "cancel", abstract: "Cancel an execution (its owner stops running steps within a heartbeat).")

    @OptionGroup var execution: ExecutionArgument

    func execute() throws {
        let (context, record) = try execution.open()
        guard
            let status = try context.store.requestCancel(executionID: record.id, now: Date().timeIntervalSince1970)
        else { throw CLIError("no execution '\(record.id)'") }
        if status.isFinished { throw CLIError("execution \(record.id) already \(status.rawValue)") }
        print(status == .queued ? "cancelled \(record.id)" : "cancel requested for \(record.id)")
    }
}

/// `sluice approve TOKEN` and `sluice reject TOKEN --reason …`.
struct ApproveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "approve", abstract: "Approve a waiting Approval step with its single-use token.")

    @Argument(help: "The token printed when the step started.") var token: String

    func run() throws { try decide(token: token, approve: true, reason: "") }
}

struct RejectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reject", abstract: "Reject a waiting Approval step with its single-use token.")

    @Argument(help: "The token printed when the step started.") var token: String
    @Option(help: "Why; recorded and shown as the step's failure cause.") var reason: String

    func run() throws { try decide(token: token, approve: false, reason: reason) }
}

private func decide(token: String, approve: Bool, reason: String) throws {
    do {
        let context = try EngineContext.open()
        let record = try context.store.decideApproval(
            tokenHash: SHA256.hex(token), approve: approve, reason: reason, now: Date().timeIntervalSince1970)
        print("\(approve ? "approved" : "rejected") step '\(record.step)' of execution \(record.executionID)")
    } catch let error as StoreError {
        printError("token \(token.prefix(10))…: \(error.message)")
        throw ExitCode.failure
    }
}

/// `-p KEY=VALUE` arguments as text by name; a path given to a data, model or report parameter of `pipeline` is made
/// absolute against the folder the command runs in.
func parameterOverrides(_ arguments: [String], of pipeline: Pipeline?) throws -> [String: String] {
    var overrides: [String: String] = [:]
    for parameter in arguments {
        guard let equals = parameter.firstIndex(of: "=") else {
            printError("-p \(parameter): write parameters as KEY=VALUE")
            throw ExitCode.failure
        }
        let name = String(parameter[..<equals])
        var value = String(parameter[parameter.index(after: equals)...])
        if let type = pipeline?.parameter(named: name)?.type, [.data, .model, .report].contains(type) {
            value = SpecPaths.resolve(value, in: ".")
        }
        overrides[name] = value
    }
    return overrides
}
