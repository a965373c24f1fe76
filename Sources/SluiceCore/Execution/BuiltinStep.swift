/// A step implemented in Swift inside Sluice (`implementation: {builtin: data.split}`).
///
/// A conformer reads its inputs and options, writes any files it produces under `context.workDirectory`, and
/// returns its outputs by name. File and folder outputs are returned as absolute paths (strings); the engine
/// stores them as content-addressed artifacts. A problem with the user's data or options is a `StepFailure`
/// (the step fails, `retry`/`catch` apply); any other thrown error is treated as an infrastructure fault.
public protocol BuiltinStep: Sendable {
    /// The registered name, e.g. `data.split` or `train.linear`.
    var name: String { get }
    func run(_ context: BuiltinStepContext) async throws -> [String: JSONValue]
    /// Whether the step writes files, so its work directory must exist before it runs (default true).
    var needsWorkDirectory: Bool { get }
    /// Whether running the step changes nothing outside its returned outputs (no files, no registry, no network),
    /// so running it again after a crash is unobservable (default false).
    var isEffectFree: Bool { get }
}

extension BuiltinStep {
    public var needsWorkDirectory: Bool { true }
    public var isEffectFree: Bool { false }
}

/// Everything a built-in step may use.
@MemberwiseInit
public struct BuiltinStepContext: Sendable {
    /// Resolved input values by port name; data, model and report inputs are absolute local paths.
    public var inputs: [String: JSONValue]
    /// The `options` of the module's `builtin` implementation.
    public var options: [String: JSONValue]
    /// An empty folder owned by this attempt, for outputs.
    public var workDirectory: String
    public var executionID: String
    public var stepName: String
    /// The output names the module declares, for steps whose one product takes the module's name for it.
    public var declaredOutputs: [String] = []
    /// Appends a line to the step's log.
    public var log: @Sendable (String) -> Void = { _ in }

    /// The value of an input, falling back to an option of the same name.
    public func value(_ name: String) -> JSONValue? { inputs[name] ?? options[name] }
}

/// A step failed because of its input, its code or its data, not because Sluice broke.
///
/// `error` is the name `retry` and `catch` rules match (`States.TaskFailed`, `Sluice.SchemaViolation`, or a
/// Python exception's class name); `cause` is the human-readable explanation.
public struct StepFailure: Error, Hashable, Sendable, Codable, CustomStringConvertible {
    public var error: String
    public var cause: String

    public init(_ error: String = ErrorName.taskFailed, cause: String) {
        self.error = error
        self.cause = cause
    }

    public var description: String { "\(error): \(cause)" }
}
