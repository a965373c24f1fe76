import SluiceCore

extension ExecutionEngine {
    /// What was decided for one interrupted attempt when this driver took the execution over.
    struct Takeover: Sendable {
        var attempt: Int
        var takeover: AttemptTakeover
        /// The process to follow, when adopted.
        var process: AttemptProcess?
    }

    /// Settles every attempt the previous driver left `running` before anything new starts, so that two attempts of
    /// a step are never alive at once: a task's process still running under its supervisor is adopted (followed to
    /// its end, not run again); any other live process of the attempt (a Map's iterations, an unsupervised program)
    /// is killed with its whole process group, and gone, before the next attempt starts.
    func takeOverInterruptedAttempts(
        executionID: String, pipeline: Pipeline, machine: ExecutionStateMachine
    ) throws -> [String: Takeover] {
        var decisions: [String: Takeover] = [:]
        for step in pipeline.steps + pipeline.onFailure {
            guard let record = machine.steps[step.name], record.status == .running, record.attempt > 0 else {
                continue
            }
            let spec: TaskSpec
            let isMap: Bool
            switch step.kind {
            case .task(let task): (spec, isMap) = (task, false)
            case .map(let map): (spec, isMap) = (map.task, true)
            default: continue
            }
            guard let module = pipeline.modules[spec.module],
                let executor = executors[module.implementation?.kindName ?? "builtin"]
            else { continue }
            let directory = "\(configuration.executionsDirectory)/\(executionID)/\(step.name)/\(record.attempt)"
            var processes = try store.attemptProcesses(
                executionID: executionID, step: step.name, attempt: record.attempt)
            // A process spawned just before its driver died may not be committed yet: its supervisor's pid file
            // in the work directory still names it (group 0 asks the executor to look there).
            if !isMap, !processes.contains(where: { $0.workDirectory == directory }) {
                processes.append(AttemptProcess(group: 0, startTime: 0, workDirectory: directory))
            }
            var decision = Takeover(attempt: record.attempt, takeover: .gone)
            for process in processes {
                let adoptable = !isMap && process.workDirectory == directory
                switch executor.takeOver(process, adoptable: adoptable) {
                case .adopted:
                    decision.takeover = .adopted
                    decision.process = process
                case .killed where decision.takeover != .adopted:
                    decision.takeover = .killed
                default:
                    break
                }
            }
            decisions[step.name] = decision
        }
        return decisions
    }
}
