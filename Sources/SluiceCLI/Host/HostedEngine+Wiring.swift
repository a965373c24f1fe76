import Foundation
import SluiceCore
import SluiceEngine
import SluiceSpec

extension HostedEngine {
    /// The hosted engine of `context`: pipelines read (relative to `workingDirectory`) and validated by the spec
    /// loader, executions shown on `sink` with approval links (and mails) pointing at the server.
    convenience init(
        context: EngineContext, workingDirectory: String = FileManager.default.currentDirectoryPath,
        rescanSeconds: Double = 5, sink: @escaping @Sendable (String) -> Void
    ) {
        let wiring = Wiring(
            loadPipeline: { pipeline in
                let path = pipeline.hasPrefix("/") ? pipeline : workingDirectory + "/" + pipeline
                let (loaded, diagnostics) = PipelineLoader.load(
                    path: path, options: ValidationOptions(knownBuiltins: nil))
                guard let loaded else {
                    let errors = diagnostics.filter { $0.severity == .error }.map(\.description)
                    throw SubmissionError(
                        "\(pipeline) does not validate (\(errors.count) error\(errors.count == 1 ? "" : "s")); "
                            + "run `sluice validate \(pipeline)` for every problem",
                        diagnostics: errors)
                }
                return loaded
            },
            newExecutionID: EngineContext.newExecutionID,
            observer: { id, baseURL in
                context.approvalMailer(
                    executionID: id, next: HostDisplay(executionID: id, sink: sink, baseURL: baseURL),
                    baseURL: { baseURL() ?? "http://127.0.0.1:8080" }, report: sink)
            },
            describe: executionDetailJSON)
        self.init(
            runner: context.runner, adoption: context.store, wiring: wiring, rescanSeconds: rescanSeconds,
            sink: sink)
    }
}

/// Step lines of hosted executions, prefixed with the execution id, and approval links on the server.
struct HostDisplay: ExecutionObserver {
    let executionID: String
    let sink: @Sendable (String) -> Void
    let baseURL: @Sendable () -> String?

    /// Formats the lines `sluice run` shows.
    let display = LiveDisplay(quiet: true)

    func notify(_ notice: EngineNotice) {
        switch notice {
        case .approvalRequested(let step, let token, let message, _):
            let base = baseURL() ?? "http://127.0.0.1:8080"
            sink(
                "[\(executionID)] ⏸ \(step)  waiting for approval: \(message)\n"
                    + "      open to approve or reject: \(base)/approvals/\(token)\n"
                    + "      or: sluice approve \(token) | sluice reject \(token) --reason \"…\"")
        case .finished:
            break
        default:
            if let line = display.format(notice) {
                sink("[\(executionID)] " + line.trimmingCharacters(in: .whitespaces))
            }
        }
    }
}
