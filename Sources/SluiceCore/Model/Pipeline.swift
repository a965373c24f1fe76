/// A validated pipeline: every name resolved, every reference checked, ready for the engine and for export.
///
/// The spec layer produces it from either the seed's state-machine form (`Steps:` with `StartsAt`/`Next`/`End`)
/// or the list form (`steps:` ordered by data references and `after:`); both end up as the same graph of steps,
/// where each step lists the steps it waits for in `after`.
@MemberwiseInit
public struct Pipeline: Hashable, Sendable, Codable {
    @MemberwiseInit
    public struct Parameter: Hashable, Sendable, Codable {
        public var name: String
        public var type: ValueType
        public var defaultValue: JSONValue?
        public var description: String?
        /// Allowed values, when the parameter is an enumeration (`ModelApprovalStatus`).
        public var allowedValues: [JSONValue]?
        public var location: SourceLocation?
    }

    public var name: String
    public var description: String?
    /// Free-form category from the seed (`TrainingPipeline`).
    public var type: String?
    public var parameters: [Parameter] = []
    /// Steps in a stable order (the order written in the spec).
    public var steps: [Step]
    /// Steps run, in order, after the execution has failed: clean-up and notification.
    public var onFailure: [Step] = []
    /// How many executions of this pipeline version may run at once (the seed says one).
    public var maxConcurrentExecutions: Int = 1
    /// Every module a step invokes, by name.
    public var modules: [String: Module] = [:]
    public var location: SourceLocation?
    /// What starts executions besides a user (new files, schedules).
    public var triggers: [Trigger] = []

    public func step(named name: String) -> Step? { steps.first { $0.name == name } }
    public func parameter(named name: String) -> Parameter? { parameters.first { $0.name == name } }

    /// Steps that wait for nothing: where an execution starts.
    public var entrySteps: [Step] { steps.filter(\.after.isEmpty) }

    /// The dependency graph over step names (edges from each dependency to its dependent).
    public var graph: DependencyGraph {
        var graph = DependencyGraph(nodes: steps.map(\.name))
        for step in steps {
            for dependency in step.after { graph.addEdge(from: dependency.step, to: step.name) }
        }
        return graph
    }
}

/// One node of a pipeline.
@MemberwiseInit
public struct Step: Hashable, Sendable, Codable {
    public var name: String
    public var kind: Kind
    /// The steps this one waits for, and on what outcome of each.
    public var after: [Dependency] = []
    public var retry: [RetryRule] = []
    public var catches: [CatchRule] = []
    public var timeout: TimeSpan?
    /// A step that reports no heartbeat for this long fails with `States.HeartbeatTimeout`.
    public var heartbeat: TimeSpan?
    public var cache: CachePolicy?
    public var description: String?
    public var location: SourceLocation?

    public enum Kind: Hashable, Sendable, Codable {
        case task(TaskSpec)
        case condition(ConditionSpec)
        case fail(FailSpec)
        case succeed
        case approval(ApprovalSpec)
        case wait(WaitSpec)
        case map(MapSpec)

        public var name: String {
            switch self {
            case .task: "Task"
            case .condition: "Condition"
            case .fail: "Fail"
            case .succeed: "Succeed"
            case .approval: "Approval"
            case .wait: "Wait"
            case .map: "Map"
            }
        }
    }

    /// Every reference the step reads, wherever it appears.
    public var references: [Reference] {
        switch kind {
        case .task(let task): task.inputs.values.flatMap(\.references)
        case .condition(let condition): condition.condition.references
        case .fail(let fail): fail.message.references
        case .succeed: []
        case .approval(let approval): approval.message?.references ?? []
        case .wait(let wait): wait.until?.references ?? []
        case .map(let map): map.items.references + map.task.inputs.values.flatMap(\.references)
        }
    }
}

/// An edge into a step: which step it waits for, and which outcome of that step lets it run.
///
/// A step waits until every dependency has resolved, then runs if at least one resolved with the outcome its edge
/// names and every step whose outputs it reads succeeded; otherwise it is skipped. So a join after both branches
/// of a condition runs once, and one handler that several steps `catch` into runs for whichever failed.
public struct Dependency: Hashable, Sendable, Codable {
    public enum Outcome: String, Hashable, Sendable, Codable {
        /// The dependency succeeded (the ordinary `Next` or data edge).
        case succeeded
        /// The dependency is a condition that evaluated true (`then` branch).
        case conditionTrue
        /// The dependency is a condition that evaluated false (`else` branch).
        case conditionFalse
        /// The dependency failed and one of its `catch` rules routed here.
        case caught
    }

    public var step: String
    public var outcome: Outcome

    public init(_ step: String, on outcome: Outcome = .succeeded) {
        self.step = step
        self.outcome = outcome
    }
}

/// Invokes a module with bound inputs.
@MemberwiseInit
public struct TaskSpec: Hashable, Sendable, Codable {
    /// The module's name (the key of `Pipeline.modules`).
    public var module: String
    public var inputs: [String: Binding] = [:]
}

/// If/then/else: steps depending on it with `.conditionTrue` run when it holds, `.conditionFalse` otherwise.
@MemberwiseInit
public struct ConditionSpec: Hashable, Sendable, Codable {
    public var condition: Condition
    /// The steps of each branch, as written (also encoded in their `after` edges).
    public var then: [String]
    public var otherwise: [String]
}

/// Ends the execution as failed with a message (interpolated) and an error name.
@MemberwiseInit
public struct FailSpec: Hashable, Sendable, Codable {
    public var message: Template
    public var error: String = "States.Fail"
}

/// Waits for a human decision (or a callback with the step's token).
@MemberwiseInit
public struct ApprovalSpec: Hashable, Sendable, Codable {
    public var message: Template?
    /// Who is told, e.g. email addresses; empty means the decision is taken from the CLI or console only.
    public var notify: [String] = []
    /// After this long without a decision the step fails with `Sluice.ApprovalTimeout`.
    public var timeout: TimeSpan?
}

/// Pauses for a fixed time or until a timestamp.
@MemberwiseInit
public struct WaitSpec: Hashable, Sendable, Codable {
    public var seconds: TimeSpan?
    /// An ISO-8601 timestamp, possibly interpolated.
    public var until: Template?
}

/// Runs a task once per item of a list, or per file of a folder, at most `maxConcurrency` at a time.
@MemberwiseInit
public struct MapSpec: Hashable, Sendable, Codable {
    public enum Items: Hashable, Sendable, Codable {
        /// A JSON array (literal or referenced).
        case list(Binding)
        /// Every file under a folder (a `DataUri`), optionally filtered by a glob such as `*.csv`.
        case files(Binding, glob: String?)

        public var references: [Reference] {
            switch self {
            case .list(let binding), .files(let binding, _): binding.references
            }
        }
    }

    public var items: Items
    /// The task run for each item; its bindings may read `$.item`.
    public var task: TaskSpec
    public var maxConcurrency: Int = 0
}

/// Step Functions' retrier: which errors, how often, how long between attempts.
@MemberwiseInit
public struct RetryRule: Hashable, Sendable, Codable {
    public enum Jitter: String, Hashable, Sendable, Codable {
        case none = "NONE"
        case full = "FULL"
    }

    public var errorEquals: [String] = [ErrorName.all]
    public var interval: TimeSpan = TimeSpan(seconds: 1)
    /// Retries after the first attempt (Step Functions' `MaxAttempts`): 0 means never retry.
    public var maxAttempts: Int = 3
    public var backoffRate: Double = 2
    public var maxDelay: TimeSpan?
    public var jitter: Jitter = .none

    public func matches(_ error: String) -> Bool { ErrorName.matches(error, any: errorEquals) }

    /// The delay before retry number `retry` (1-based), before jitter: `interval × backoffRate^(retry−1)`, capped.
    public func delay(beforeRetry retry: Int) -> Double {
        var seconds = interval.seconds
        for _ in 1..<max(retry, 1) { seconds *= backoffRate }
        if let maxDelay { seconds = min(seconds, maxDelay.seconds) }
        return seconds
    }
}

/// Step Functions' catcher: on a matching error, continue at `next` instead of failing the execution.
@MemberwiseInit
public struct CatchRule: Hashable, Sendable, Codable {
    public var errorEquals: [String] = [ErrorName.all]
    public var next: String

    public func matches(_ error: String) -> Bool { ErrorName.matches(error, any: errorEquals) }
}

/// SageMaker's step caching: reuse an earlier successful attempt with the same cache key.
@MemberwiseInit
public struct CachePolicy: Hashable, Sendable, Codable {
    public var enabled: Bool = true
    public var expireAfter: TimeSpan?
}

/// Error names in Step Functions' vocabulary, as `retry` and `catch` match them.
public enum ErrorName {
    public static let all = "States.ALL"
    public static let timeout = "States.Timeout"
    public static let heartbeatTimeout = "States.HeartbeatTimeout"
    public static let taskFailed = "States.TaskFailed"
    public static let fail = "States.Fail"
    public static let approvalRejected = "Sluice.ApprovalRejected"
    public static let approvalTimeout = "Sluice.ApprovalTimeout"
    /// A Map's items could not be read (not a list, a folder that does not exist): the step's own inputs are wrong.
    public static let mapItems = "Sluice.MapItems"

    /// `States.ALL` matches everything; `States.TaskFailed` matches everything but timeouts (as in Step Functions)
    /// and `Sluice.MapItems`, which a retry would only repeat (name it, or `States.ALL`, to retry it anyway).
    public static func matches(_ error: String, any names: [String]) -> Bool {
        names.contains { name in
            name == error || name == all
                || (name == taskFailed && error != timeout && error != heartbeatTimeout && error != mapItems)
        }
    }
}
