import Foundation
public import SluiceCore

/// Runs built-in Swift steps by name from a registry (`noop`, `echo`, `fail`, and the ML steps).
public struct BuiltinExecutor: StepExecutor {
    public let steps: [String: any BuiltinStep]

    public init(_ steps: [any BuiltinStep]) {
        var byName: [String: any BuiltinStep] = [:]
        for step in steps { byName[step.name] = step }
        self.steps = byName
    }

    public func preflight(_ module: Module) -> StepFailure? {
        guard case .builtin(let name, _) = module.implementation else { return nil }
        guard steps[name] != nil else {
            let hint = closestMatch(to: name, in: steps.keys).map { "; did you mean '\($0)'?" } ?? ""
            return StepFailure("Sluice.UnknownBuiltin", cause: "no built-in step '\(name)'\(hint)")
        }
        return nil
    }

    public func isEffectFree(_ module: Module) -> Bool {
        guard case .builtin(let name, _) = module.implementation else { return false }
        return steps[name]?.isEffectFree ?? false
    }

    public func run(_ request: StepRequest) async throws -> StepResult {
        guard case .builtin(let name, let options) = request.module.implementation, let step = steps[name] else {
            return .failed(StepFailure("Sluice.UnknownBuiltin", cause: "no built-in step for '\(request.module.name)'"))
        }
        if step.needsWorkDirectory {
            try FileManager.default.createDirectory(atPath: request.workDirectory, withIntermediateDirectories: true)
        }
        let context = BuiltinStepContext(
            inputs: request.inputs, options: options, workDirectory: request.workDirectory,
            executionID: request.executionID, stepName: request.stepName,
            declaredOutputs: request.module.outputs.map(\.name), log: request.log)
        do {
            return .succeeded(try await step.run(context))
        } catch let failure as StepFailure {
            return .failed(failure)
        }
    }
}
