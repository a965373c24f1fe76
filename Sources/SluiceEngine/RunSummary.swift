import Foundation
public import SluiceCore

/// What a finished execution produced, and whether retrying it could succeed: the lines a run ends with.
public enum RunSummary {
    /// One line per product of the execution, in pipeline order: evaluation metrics, the model version a
    /// `registry.register` step registered (or, on a cache hit, that no new version was made), each deployment,
    /// and each condition that was not met with the steps it skipped.
    /// - Parameters:
    ///   - pipeline: the pipeline the execution ran.
    ///   - steps: the execution's step records.
    public static func products(pipeline: Pipeline, steps: [StepRecord]) -> [String] {
        let records = Dictionary(steps.map { ($0.name, $0) }) { first, _ in first }
        var lines: [String] = []
        for step in pipeline.steps {
            guard let record = records[step.name] else { continue }
            switch step.kind {
            case .condition(let spec) where record.conditionResult == false && !spec.then.isEmpty:
                lines.append("\(step.name): condition not met, so \(spec.then.joined(separator: ", ")) did not run")
            case .task(let task) where record.status == .succeeded:
                let outputs = record.outputs ?? [:]
                let metrics = outputs.keys.sorted().compactMap { metricsText(outputs[$0]!) }.first
                if let metrics { lines.append("\(step.name): \(metrics)") }
                guard case .builtin(let builtin, _)? = pipeline.modules[task.module]?.implementation else { continue }
                let version = outputs["ModelVersion"]?.string ?? "?"
                switch builtin {
                case "registry.register" where record.cacheHit:
                    lines.append(
                        "\(step.name): cache hit, no new version registered (\(version) was registered by an earlier "
                            + "execution with the same inputs)")
                case "registry.register":
                    lines.append("\(step.name): registered \(version)")
                case "endpoint.deploy":
                    let endpoint = outputs["Endpoint"]?.string ?? "?"
                    let stage = outputs["Stage"]?.string ?? "?"
                    lines.append("\(step.name): deployed \(version) to \(endpoint) (\(stage))")
                default: break
                }
            default: break
            }
        }
        return lines
    }

    /// Whether `sluice retry` could succeed: not after a cancel, a Fail step that ended the run on purpose, or a
    /// rejected approval — re-running those reaches the same decision.
    /// - Parameters:
    ///   - pipeline: the pipeline the execution ran.
    ///   - execution: the finished execution.
    ///   - steps: its step records.
    public static func retryCanSucceed(pipeline: Pipeline, execution: ExecutionRecord, steps: [StepRecord]) -> Bool {
        guard execution.status == .failed else { return false }
        if execution.error?.error == ErrorName.approvalRejected { return false }
        let failed = steps.filter { $0.status == .failed }
        if failed.contains(where: { $0.error?.error == ErrorName.approvalRejected }) { return false }
        return !failed.contains { record in
            if case .fail? = pipeline.step(named: record.name)?.kind { return true }
            return false
        }
    }

    /// `r2 0.4723, mse 2548` for an evaluation report in SageMaker's shape
    /// (`{"regression_metrics": {"r2": {"value": …}}}`), nil for any other value.
    static func metricsText(_ value: JSONValue) -> String? {
        guard case .object(let report) = value else { return nil }
        var parts: [String] = []
        for kind in report.keys.sorted() where kind.hasSuffix("_metrics") {
            guard case .object(let metrics)? = report[kind] else { continue }
            for name in metrics.keys.sorted() {
                guard let number = metrics[name]?["value"]?.number else { continue }
                parts.append("\(name) " + String(format: "%.4g", number))
            }
        }
        return parts.isEmpty ? nil : parts.joined(separator: ", ")
    }
}
