/// One attempt of a task step, ready to run: the module, its resolved inputs and a folder of its own.
public struct StepRequest: Sendable {
    public var executionID: String
    public var stepName: String
    public var attempt: Int
    public var module: Module
    /// Resolved input values by port name (defaults applied); file inputs are absolute paths.
    public var inputs: [String: JSONValue]
    /// A folder owned by this attempt, created by the executor when it needs one; logs go to `stdout.log` and
    /// `stderr.log` in it.
    public var workDirectory: String
    /// Appends a line to the step's log.
    public var log: @Sendable (String) -> Void
    /// Called once the attempt's process is spawned, before the executor waits for it: the engine commits it, so
    /// whoever takes the execution over after a crash finds the process.
    public var processStarted: @Sendable (AttemptProcess) -> Void = { _ in }

    public init(
        executionID: String, stepName: String, attempt: Int, module: Module, inputs: [String: JSONValue],
        workDirectory: String, log: @escaping @Sendable (String) -> Void = { _ in }
    ) {
        self.executionID = executionID
        self.stepName = stepName
        self.attempt = attempt
        self.module = module
        self.inputs = inputs
        self.workDirectory = workDirectory
        self.log = log
    }
}

/// How an attempt ended, from the executor's point of view.
public enum StepResult: Hashable, Sendable {
    case succeeded([String: JSONValue])
    case failed(StepFailure)
}

/// Runs one kind of module implementation.
///
/// A conformer returns `.failed` for anything the user can fix (non-zero exit, exception in a handler, bad
/// answer from a URL) and throws only when Sluice itself cannot work (cannot spawn, disk full). It must react to
/// task cancellation promptly, killing whatever it started (the engine cancels on timeout and on `sluice cancel`).
public protocol StepExecutor: Sendable {
    func run(_ request: StepRequest) async throws -> StepResult
    /// Checks, before an execution starts, that the module can run here (tools installed, script present).
    func preflight(_ module: Module) -> StepFailure?
    /// Whether the module's steps only compute outputs (no effect outside Sluice's store), so the engine may
    /// group-commit their transitions (default false).
    func isEffectFree(_ module: Module) -> Bool
    /// Decides the fate of a process an interrupted attempt started, when another driver takes the execution over.
    ///
    /// A conformer that spawns processes returns `.adopted` only when `adopt` can follow that process to its end
    /// (`adoptable` false: never), and otherwise kills the whole process group and returns only once it is gone
    /// (`.killed`), so that two attempts of a step are never alive at once. Default: `.gone` (no processes).
    func takeOver(_ process: AttemptProcess, adoptable: Bool) -> AttemptTakeover
    /// Follows an adopted attempt's process (see `takeOver`) to its end and collects its outputs as `run` would.
    func adopt(_ request: StepRequest, process: AttemptProcess) async throws -> StepResult
}

extension StepExecutor {
    public func preflight(_ module: Module) -> StepFailure? { nil }
    public func isEffectFree(_ module: Module) -> Bool { false }
    public func takeOver(_ process: AttemptProcess, adoptable: Bool) -> AttemptTakeover { .gone }
    public func adopt(_ request: StepRequest, process: AttemptProcess) async throws -> StepResult {
        .failed(StepFailure("Sluice.NotAdoptable", cause: "this kind of step cannot be adopted"))
    }
}
