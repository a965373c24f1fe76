public import SluiceCore

/// Named graph shapes for engine tests; every task step runs the module `Work` (run by a scripted executor).
public enum PipelineShapes {
    public static let work = Module(
        name: "Work", kind: .builtin, implementation: .builtin(name: "scripted", options: [:]))

    public static func task(
        _ name: String, after: [Dependency] = [], retry: [RetryRule] = [], catches: [CatchRule] = [],
        timeout: Double? = nil
    ) -> Step {
        Step(
            name: name, kind: .task(TaskSpec(module: "Work")), after: after, retry: retry, catches: catches,
            timeout: timeout.map { TimeSpan(seconds: $0) })
    }

    static func pipeline(_ name: String, _ steps: [Step], parameters: [Pipeline.Parameter] = []) -> Pipeline {
        Pipeline(name: name, parameters: parameters, steps: steps, modules: ["Work": work])
    }

    /// A → B → C.
    public static let linear = pipeline(
        "linear", [task("A"), task("B", after: [.init("A")]), task("C", after: [.init("B")])])

    /// A → (B, C) → D.
    public static let diamond = pipeline(
        "diamond",
        [
            task("A"), task("B", after: [.init("A")]), task("C", after: [.init("A")]),
            task("D", after: [.init("B"), .init("C")]),
        ])

    /// Root → 10 parallel steps → Join.
    public static let fanOutIn = pipeline(
        "fan-out-in",
        [task("Root")] + (0..<10).map { task("F\($0)", after: [.init("Root")]) }
            + [task("Join", after: (0..<10).map { .init("F\($0)") })])

    /// Train → Evaluate → Check (score ≥ threshold) → Register | Reject.
    public static let conditionalRegister = pipeline(
        "conditional-register",
        [
            task("Train"), task("Evaluate", after: [.init("Train")]),
            Step(
                name: "Check",
                kind: .condition(
                    ConditionSpec(
                        condition: .compare(
                            .reference(Reference(.stepOutput(step: "Evaluate", output: "score"))), .greaterOrEqual,
                            .reference(Reference(.parameter("Threshold")))),
                        then: ["Register"], otherwise: ["Reject"])), after: [.init("Evaluate")]),
            task("Register", after: [.init("Check", on: .conditionTrue)]),
            task("Reject", after: [.init("Check", on: .conditionFalse)]),
        ], parameters: [.init(name: "Threshold", type: .float, defaultValue: 0.5)])

    /// Flaky retried up to 3 times, 1 s then ×2.
    public static let retry = pipeline(
        "retry",
        [
            task("Flaky", retry: [RetryRule(interval: TimeSpan(seconds: 1), maxAttempts: 3)]),
            task("After", after: [.init("Flaky")]),
        ])

    /// Flaky retried twice, then caught into Recover; Next (on success) is skipped.
    public static let retryThenCatch = pipeline(
        "retry-then-catch",
        [
            task(
                "Flaky", retry: [RetryRule(interval: TimeSpan(seconds: 2), maxAttempts: 2)],
                catches: [CatchRule(next: "Recover")]),
            task("Next", after: [.init("Flaky")]), task("Recover", after: [.init("Flaky", on: .caught)]),
        ])

    /// Slow has a 5 s timeout.
    public static let timeout = pipeline("timeout", [task("Slow", timeout: 5), task("After", after: [.init("Slow")])])
}
