public import SluiceCore

/// Does nothing and returns no outputs: for benchmarks and tests of the engine itself.
public struct NoopStep: BuiltinStep {
    public init() {}
    public var name: String { "noop" }
    public var needsWorkDirectory: Bool { false }
    public var isEffectFree: Bool { true }
    public func run(_ context: BuiltinStepContext) async throws -> [String: JSONValue] { [:] }
}

/// Returns its inputs (and options) as outputs.
public struct EchoStep: BuiltinStep {
    public init() {}
    public var name: String { "echo" }
    public var needsWorkDirectory: Bool { false }
    public var isEffectFree: Bool { true }
    public func run(_ context: BuiltinStepContext) async throws -> [String: JSONValue] {
        context.options.merging(context.inputs) { _, input in input }
    }
}

/// Fails with the error named by its `error` input or option (default `States.TaskFailed`).
public struct FailStep: BuiltinStep {
    public init() {}
    public var name: String { "fail" }
    public var needsWorkDirectory: Bool { false }
    public var isEffectFree: Bool { true }
    public func run(_ context: BuiltinStepContext) async throws -> [String: JSONValue] {
        throw StepFailure(
            context.value("error")?.string ?? ErrorName.taskFailed,
            cause: context.value("message")?.string ?? "failed on purpose")
    }
}

/// The built-ins every Sluice has, besides the ML steps.
public let coreBuiltinSteps: [any BuiltinStep] = [NoopStep(), EchoStep(), FailStep()]
