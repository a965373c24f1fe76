import Foundation
public import SluiceCore

/// Runs a container image with docker or podman, the work directory mounted at `/opt/ml`.
public struct ContainerExecutor: StepExecutor {
    let command = CommandExecutor()
    public init() {}

    /// docker, else podman, else nil.
    static var engine: String? { ProcessRunner.which("docker") ?? ProcessRunner.which("podman") }

    public func preflight(_ module: Module) -> StepFailure? {
        Self.engine == nil
            ? StepFailure(
                "Sluice.NoContainerEngine",
                cause: "neither docker nor podman is installed; install one to run container modules")
            : nil
    }

    public func run(_ request: StepRequest) async throws -> StepResult {
        guard case .container(let image, let arguments) = request.module.implementation, let engine = Self.engine
        else { return .failed(preflight(request.module) ?? StepFailure(cause: "not a container module")) }
        var forwarded = request
        forwarded.module.implementation = .command(
            arguments: [engine, "run", "--rm", "-v", "\(request.workDirectory):/opt/ml", image] + arguments,
            environment: [:])
        return try await command.run(forwarded)
    }
}
