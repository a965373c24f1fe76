import Foundation
import SluiceCore

extension ExecutionEngine {
    /// Runs one attempt of a launched step and reports how it ended. Never throws: infrastructure faults become
    /// `Sluice.InfrastructureFault` failures so the execution records them instead of vanishing.
    /// - Parameter adopting: the still-running process of this attempt, started by a driver that died: it is followed
    ///   to its end instead of starting the step again.
    func runStep(
        _ step: Step, attempt: Int, dueAt: Double?, pipeline: Pipeline, resolver: ReferenceResolver,
        observer: any ExecutionObserver, adopting: AttemptProcess? = nil
    ) async -> Completion {
        let completion: Completion
        switch step.kind {
        case .task(let spec):
            completion = await runTask(
                step, spec, attempt: attempt, pipeline: pipeline, resolver: resolver,
                item: nil, workSuffix: nil, observer: observer, adopting: adopting)
        case .map(let spec):
            completion = await runMap(
                step, spec, attempt: attempt, pipeline: pipeline, resolver: resolver,
                observer: observer)
        case .approval(let spec):
            completion = await runApproval(step, spec, attempt: attempt, resolver: resolver, observer: observer)
        case .wait(let spec):
            completion = await runWait(spec, dueAt: dueAt, resolver: resolver)
        case .condition, .fail, .succeed:
            completion = Completion(outcome: .succeeded([:]))
        }
        if Task.isCancelled, case .failed = completion.outcome { return Completion(outcome: .cancelled) }
        return completion
    }

    // MARK: Tasks

    func runTask(
        _ step: Step, _ spec: TaskSpec, attempt: Int, pipeline: Pipeline, resolver: ReferenceResolver,
        item: JSONValue?, workSuffix: String?, observer: any ExecutionObserver, adopting: AttemptProcess? = nil
    ) async -> Completion {
        guard let module = pipeline.modules[spec.module] else {
            return Completion(outcome: .failed(StepFailure("Sluice.UnknownModule", cause: spec.module)))
        }
        var inputs: [String: JSONValue] = [:]
        do {
            for (name, binding) in spec.inputs {
                switch binding {
                case .literal(let value): inputs[name] = value
                case .reference(let reference): inputs[name] = try resolver.resolve(reference, item: item)
                case .template(let template):
                    inputs[name] = .string(try template.render { try resolver.resolve($0, item: item) })
                }
            }
        } catch {
            return Completion(outcome: .failed(StepFailure("Sluice.InputError", cause: "\(error)")))
        }
        for port in module.inputs where inputs[port.name] == nil {
            if let value = port.value {
                inputs[port.name] = value
            } else if !port.optional {
                return Completion(
                    outcome: .failed(
                        StepFailure("Sluice.InputError", cause: "input '\(port.name)' of '\(module.name)' is not bound")
                    )
                )
            }
        }
        let kind = module.implementation?.kindName ?? "builtin"
        guard let executor = executors[kind] else {
            return Completion(outcome: .failed(StepFailure("Sluice.NoExecutor", cause: "no executor for \(kind)")))
        }
        var directory = "\(configuration.executionsDirectory)/\(resolver.executionID)/\(step.name)/\(attempt)"
        if let workSuffix { directory += "/\(workSuffix)" }
        // `s3://` inputs become local copies in the attempt folder, hashed while they stream.
        let fetched: [String: FetchedObject]
        do {
            fetched = try await fetchObjectInputs(module: module, inputs: &inputs, into: "\(directory)/inputs")
        } catch {
            return Completion(outcome: .failed(StepFailure("Sluice.InputError", cause: "\(error)")))
        }
        // Content hashes of file inputs: lineage, and the cache key (content, not path).
        var consumed: [(port: String, path: String, artifact: ArtifactReference)] = []
        for port in module.inputs where [.data, .model, .report].contains(port.type) {
            guard case .string(let path) = inputs[port.name], FileManager.default.fileExists(atPath: path) else {
                continue
            }
            if let artifact = try? fetched[port.name]?.content ?? artifacts?.contentHash(path: path) {
                consumed.append((port.name, path, artifact))
            }
        }
        var cacheKey: String?
        var cacheComponents: JSONValue?
        if step.cache?.enabled == true, workSuffix == nil, adopting == nil {
            let (key, components) = Self.cacheKey(module: module, inputs: inputs, consumed: consumed)
            cacheKey = key
            cacheComponents = components
            let notBefore = step.cache?.expireAfter.map { clock.now - $0.seconds }
            if let hit = try? store.cachedOutputs(key: key, notBefore: notBefore) {
                observer.notify(
                    .cacheDecision(
                        step: step.name, hit: true, key: key,
                        explanation: "hit: same module, code, inputs and parameters as step '\(hit.step)' of "
                            + "execution \(hit.executionID)"))
                return Completion(outcome: .succeeded(hit.outputs, cacheKey: key, cacheHit: true))
            }
            let previous = try? store.latestCacheComponents(step: step.name, pipelineName: resolver.pipelineName)
            observer.notify(
                .cacheDecision(
                    step: step.name, hit: false, key: key,
                    explanation: Self.explainMiss(previous: previous ?? nil, current: components, spec: spec)))
        }
        var request = StepRequest(
            executionID: resolver.executionID, stepName: step.name, attempt: attempt, module: module, inputs: inputs,
            workDirectory: directory)
        let store = store
        let executionID = resolver.executionID
        request.processStarted = { process in
            // Best effort: should this commit fail, the supervisor's pid file in the work directory still names it.
            try? store.recordAttemptProcess(
                executionID: executionID, step: step.name, attempt: attempt, process: process)
        }
        let finalRequest = request
        // Only steps that run a process have output to watch; a heartbeat on other kinds is ignored.
        let heartbeat = ["command", "lambda", "glue", "container"].contains(kind) ? step.heartbeat?.seconds : nil
        let result = await withLimits(timeout: step.timeout?.seconds, heartbeat: heartbeat, directory: directory) {
            do {
                if let adopting { return try await executor.adopt(finalRequest, process: adopting) }
                return try await executor.run(finalRequest)
            } catch {
                return .failed(StepFailure("Sluice.InfrastructureFault", cause: "\(error)"))
            }
        }
        guard case .succeeded(var outputs) = result else {
            if case .failed(let failure) = result { return Completion(outcome: .failed(failure)) }
            return Completion(outcome: .cancelled)
        }
        // Outputs declared at `s3://` URIs are uploaded; downstream steps see the URIs.
        let localOutputs = outputs
        do {
            try await publishObjectOutputs(
                module: module, outputs: &outputs, step: step.name, attempt: attempt, resolver: resolver)
        } catch {
            return Completion(outcome: .failed(StepFailure("Sluice.OutputError", cause: "\(error)")))
        }
        var uses = consumed.map {
            ExecutionChanges.ArtifactUse(
                artifact: $0.artifact, step: step.name, attempt: attempt, role: .consumed, port: $0.port, path: $0.path)
        }
        if let artifacts, workSuffix == nil {
            for port in module.outputs where [.data, .model, .report].contains(port.type) {
                guard case .string(let path) = localOutputs[port.name], FileManager.default.fileExists(atPath: path)
                else {
                    continue
                }
                do {
                    let artifact = try artifacts.ingest(path: path)
                    uses.append(
                        ExecutionChanges.ArtifactUse(
                            artifact: artifact, step: step.name, attempt: attempt, role: .produced, port: port.name,
                            path: path))
                } catch {
                    return Completion(outcome: .failed(StepFailure("Sluice.InfrastructureFault", cause: "\(error)")))
                }
            }
        }
        return Completion(
            outcome: .succeeded(outputs, cacheKey: cacheKey, cacheHit: false), artifacts: uses,
            cacheEntry: cacheKey.map { ($0, outputs) }, cacheComponents: cacheComponents)
    }

    /// Races the body against a timeout and a heartbeat watchdog on the engine's clock; the losers are cancelled
    /// (and must stop: cancelling a process step kills its process group).
    ///
    /// A process step is alive while it writes to `stdout.log` or `stderr.log` in its work directory or touches
    /// `heartbeat` there (`$SLUICE_HEARTBEAT_FILE`); `heartbeat` seconds without any of these fail it with
    /// `States.HeartbeatTimeout`.
    func withLimits(
        timeout: Double?, heartbeat: Double?, directory: String, _ body: @escaping @Sendable () async -> StepResult
    ) async -> StepResult? {
        guard timeout != nil || heartbeat != nil else { return await body() }
        let clock = clock
        return await withTaskGroup(of: StepResult?.self) { group in
            group.addTask { await body() }
            if let timeout {
                group.addTask {
                    do {
                        try await clock.sleep(seconds: timeout)
                    } catch {
                        return nil
                    }
                    return .failed(StepFailure(ErrorName.timeout, cause: "the step ran longer than \(timeout)s"))
                }
            }
            if let heartbeat {
                group.addTask {
                    let interval = min(max(heartbeat / 8, 0.01), 1)
                    var signature = Self.livenessSignature(directory)
                    var lastSign = clock.now
                    while true {
                        do {
                            try await clock.sleep(seconds: interval)
                        } catch {
                            return nil
                        }
                        let current = Self.livenessSignature(directory)
                        if current != signature {
                            signature = current
                            lastSign = clock.now
                        } else if clock.now - lastSign >= heartbeat {
                            return .failed(
                                StepFailure(
                                    ErrorName.heartbeatTimeout,
                                    cause: "no output on stdout/stderr and no touch of $SLUICE_HEARTBEAT_FILE for "
                                        + "\(heartbeat)s (the step's heartbeat); it was stopped"))
                        }
                    }
                }
            }
            var first: StepResult?
            while first == nil, let next = await group.next() { first = next }
            group.cancelAll()
            return first
        }
    }

    /// Sizes and modification times of the files a live process step changes.
    static func livenessSignature(_ directory: String) -> [Int] {
        var signature: [Int] = []
        for name in ["stdout.log", "stderr.log", "heartbeat"] {
            var info = stat()
            if stat("\(directory)/\(name)", &info) == 0 {
                signature += [Int(info.st_size), info.st_mtim.tv_sec, info.st_mtim.tv_nsec]
            } else {
                signature += [-1, 0, 0]
            }
        }
        return signature
    }

    /// The cache key: a hash of the module definition, its code files' content, the inputs (file inputs by
    /// content hash, not path) — parameters reach a step through its inputs, so they are covered — and the parts
    /// it was computed from, kept so a later miss can say which part changed.
    static func cacheKey(
        module: Module, inputs: [String: JSONValue],
        consumed: [(port: String, path: String, artifact: ArtifactReference)]
    ) -> (key: String, components: JSONValue) {
        var definition = module
        definition.location = nil
        definition.baseDirectory = ""
        definition.description = nil
        definition.inputs = definition.inputs.map {
            var port = $0; port.location = nil; return port
        }
        definition.outputs = definition.outputs.map {
            var port = $0; port.location = nil; return port
        }
        var keyedInputs = inputs
        for use in consumed { keyedInputs[use.port] = .object(["content": .string(use.artifact.hash)]) }
        var code: [String: JSONValue] = [:]
        for file in codeFiles(of: module) {
            if let data = FileManager.default.contents(atPath: file.path) {
                code[file.name] = .string(SHA256.hex(data))
            }
        }
        let definitionJSON = canonicalJSON(definition)
        var hasher = SHA256()
        hasher.update(definitionJSON)
        hasher.update(JSONValue.object(code).canonicalJSON)
        hasher.update(JSONValue.object(keyedInputs).canonicalJSON)
        var shownInputs: [String: JSONValue] = [:]
        for (name, value) in keyedInputs {
            let text = value["content"]?.string.map { "content \($0)" } ?? value.canonicalJSON
            shownInputs[name] = .string(text.count <= 120 ? text : "sha256:" + SHA256.hex(text))
        }
        let components: JSONValue = [
            "module": .string("sha256:" + SHA256.hex(definitionJSON)), "code": .object(code),
            "inputs": .object(shownInputs),
        ]
        return ("sha256:" + hasher.finalizeHex(), components)
    }

    /// Names the parts of the key that differ from the newest key recorded for the same step.
    static func explainMiss(previous: JSONValue?, current: JSONValue, spec: TaskSpec) -> String {
        guard let previous else {
            return "miss: no earlier successful attempt of this step recorded its key (first cached run)"
        }
        var changes: [String] = []
        if previous["module"] != current["module"] { changes.append("the module definition changed") }
        let oldCode = previous["code"]?.object ?? [:]
        let newCode = current["code"]?.object ?? [:]
        for name in Set(oldCode.keys).union(newCode.keys).sorted() where oldCode[name] != newCode[name] {
            changes.append(
                oldCode[name] == nil
                    ? "code file \(name) is new"
                    : newCode[name] == nil ? "code file \(name) is gone" : "code file \(name) changed")
        }
        let oldInputs = previous["inputs"]?.object ?? [:]
        let newInputs = current["inputs"]?.object ?? [:]
        for name in Set(oldInputs.keys).union(newInputs.keys).sorted() where oldInputs[name] != newInputs[name] {
            var label = "input '\(name)'"
            if case .reference(let reference) = spec.inputs[name], case .parameter(let parameter) = reference.root {
                label += " (parameter \(parameter))"
            }
            let before = oldInputs[name]?.string ?? "unset"
            let after = newInputs[name]?.string ?? "unset"
            changes.append("\(label) changed: \(before) → \(after)")
        }
        if changes.isEmpty {
            return "miss: an entry with this key was recorded before but has expired (expire_after) or is gone"
        }
        return "miss: " + changes.joined(separator: "; ")
    }

    /// Files a module's implementation runs: a command's script arguments, a handler's or job's script.
    static func codeFiles(of module: Module) -> [(name: String, path: String)] {
        var names: [String] = []
        switch module.implementation {
        case .command(let arguments, _): names = arguments
        case .lambda(let handler, _): names = [String(handler.split(separator: ":").first ?? "")]
        case .glue(let script, _): names = [script]
        default: break
        }
        return names.compactMap { name in
            guard !name.isEmpty, !name.hasPrefix("-") else { return nil }
            let path = name.hasPrefix("/") ? name : "\(module.baseDirectory)/\(name)"
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue
            else { return nil }
            return (name, path)
        }
    }

    // MARK: Approvals and waits

    func runApproval(
        _ step: Step, _ spec: ApprovalSpec, attempt: Int, resolver: ReferenceResolver, observer: any ExecutionObserver
    ) async -> Completion {
        let executionID = resolver.executionID
        do {
            if let existing = try store.approval(executionID: executionID, step: step.name), existing.attempt == attempt
            {
                observer.notify(.approvalWaiting(step: step.name))
            } else {
                var bytes = [UInt8](repeating: 0, count: 24)
                var generator = SystemRandomNumberGenerator()
                for index in bytes.indices { bytes[index] = generator.next() }
                let token = "sl-" + Hex.encode(bytes)
                let message =
                    (try? spec.message?.render { try resolver.resolve($0, item: nil) }) ?? "approve \(step.name)"
                var changes = ExecutionChanges(executionID: executionID, now: clock.now)
                changes.approvals.append(
                    .init(
                        tokenHash: SHA256.hex(token), step: step.name, attempt: attempt, message: message ?? "",
                        expiresAt: spec.timeout.map { clock.now + $0.seconds }))
                changes.events.append(
                    ExecutionEvent(
                        time: clock.now, step: step.name, attempt: attempt, kind: "approval-requested",
                        message: message ?? ""))
                try store.apply(changes)
                observer.notify(
                    .approvalRequested(step: step.name, token: token, message: message ?? "", notify: spec.notify))
            }
            while !Task.isCancelled {
                guard let record = try store.approval(executionID: executionID, step: step.name) else { break }
                switch record.decision {
                case .approved:
                    return Completion(outcome: .succeeded(["decision": "Approved"]))
                case .rejected(let reason):
                    return Completion(
                        outcome: .failed(StepFailure(ErrorName.approvalRejected, cause: "rejected: \(reason)")))
                case .pending:
                    if let expiresAt = record.expiresAt, clock.now >= expiresAt {
                        return Completion(
                            outcome: .failed(
                                StepFailure(ErrorName.approvalTimeout, cause: "no decision before the timeout")))
                    }
                }
                if let bell = configuration.approvalBell {
                    await bell.wait(seconds: configuration.approvalPollSeconds)
                } else {
                    try await Task.sleep(nanoseconds: UInt64(configuration.approvalPollSeconds * 1e9))
                }
            }
            return Completion(outcome: .cancelled)
        } catch is CancellationError {
            return Completion(outcome: .cancelled)
        } catch {
            return Completion(outcome: .failed(StepFailure("Sluice.InfrastructureFault", cause: "\(error)")))
        }
    }

    /// Sleeps until `dueAt` (committed when the wait started, so a resumed wait sleeps only what is left) or
    /// the `until` time.
    func runWait(_ spec: WaitSpec, dueAt: Double?, resolver: ReferenceResolver) async -> Completion {
        var seconds = dueAt.map { $0 - clock.now } ?? spec.seconds?.seconds ?? 0
        if let until = spec.until {
            let text: String
            do {
                text = try until.render { try resolver.resolve($0, item: nil) }
            } catch {
                return Completion(outcome: .failed(StepFailure("Sluice.WaitUntil", cause: "until: \(error)")))
            }
            guard let date = ISO8601DateFormatter().date(from: text) else {
                let cause = "until is '\(text)', not an ISO 8601 time; write it like 2026-12-04T10:20:30Z"
                return Completion(outcome: .failed(StepFailure("Sluice.WaitUntil", cause: cause)))
            }
            seconds = date.timeIntervalSince1970 - clock.now
        }
        do {
            try await clock.sleep(seconds: seconds)
        } catch {
            return Completion(outcome: .cancelled)
        }
        return Completion(outcome: .succeeded([:]))
    }
}
