public import SluiceCore
import Synchronization

/// An executor that plays a script per step: each attempt takes the next scripted outcome (the last one repeats).
public final class ScriptedExecutor: StepExecutor {
    public enum Outcome: Sendable {
        case succeed([String: JSONValue])
        case fail(String)
        /// Never finishes on its own: only cancellation (a timeout, a cancel) ends it.
        case hang
    }

    private let state: Mutex<(script: [String: [Outcome]], calls: [String])>

    public init(_ script: [String: [Outcome]] = [:]) { state = Mutex((script, [])) }

    /// Every attempt run, as `step#attempt`, in order.
    public var calls: [String] { state.withLock { $0.calls } }

    public func run(_ request: StepRequest) async throws -> StepResult {
        let outcome = state.withLock { state -> Outcome in
            state.calls.append("\(request.stepName)#\(request.attempt)")
            guard var queue = state.script[request.stepName], !queue.isEmpty else {
                return .succeed(["ran": .string(request.stepName)])
            }
            let next = queue.removeFirst()
            if !queue.isEmpty { state.script[request.stepName] = queue }
            return next
        }
        switch outcome {
        case .succeed(let outputs): return .succeeded(outputs)
        case .fail(let error): return .failed(StepFailure(error, cause: "scripted failure"))
        case .hang:
            while !Task.isCancelled { try? await Task.sleep(nanoseconds: 5_000_000) }
            return .failed(StepFailure("Sluice.Cancelled", cause: "cancelled"))
        }
    }
}
