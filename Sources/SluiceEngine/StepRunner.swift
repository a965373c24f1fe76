import Foundation
import SluiceCore

extension ExecutionEngine {
    /// Runs one attempt of a launched step and reports how it ended. Never throws: infrastructure faults become
    /// `Sluice.InfrastructureFault` failures so the execution records them instead of vanishing.
    func runStep(
        named name: String, attempt: Int, pipeline: Pipeline, resolver: ReferenceResolver,
        observer: any ExecutionObserver
    ) async -> Completion {
        guard let step = pipeline.step(named: name) ?? pipeline.onFailure.first(where: { $0.name == name }) else {
            return Completion(outcome: .failed(StepFailure("Sluice.UnknownStep", cause: name)))
        }
        let completion: Completion
        switch step.kind {
        case .task(let spec):
            completion = await runTask(
                step, spec, attempt: attempt, pipeline: pipeline, resolver: resolver,
                item: nil, workSuffix: nil, observer: observer)
        case .map(let spec):
            completion = await runMap(
                step, spec, attempt: attempt, pipeline: pipeline, resolver: resolver,
                observer: observer)
        case .approval(let spec):
            completion = await runApproval(step, spec, attempt: attempt, resolver: resolver, observer: observer)
        case .wait(let spec):
            completion = await runWait(spec, resolver: resolver)
        case .condition, .fail, .succeed:
            completion = Completion(outcome: .succeeded([:]))
        }
        if Task.isCancelled, case .failed = completion.outcome { return Completion(outcome: .cancelled) }
        return completion
    }

    // MARK: Tasks

    func runTask(
        _ step: Step, _ spec: TaskSpec, attempt: Int, pipeline: Pipeline, resolver: ReferenceResolver,
        item: JSONValue?, workSuffix: String?, observer: any ExecutionObserver
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
        // Content hashes of file inputs: lineage, and the cache key (content, not path).
        var consumed: [(port: String, path: String, artifact: ArtifactReference)] = []
        for port in module.inputs where [.data, .model, .report].contains(port.type) {
            if case .string(let path) = inputs[port.name], FileManager.default.fileExists(atPath: path),
                let artifact = try? artifacts?.contentHash(path: path)
            {
                consumed.append((port.name, path, artifact))
            }
        }
        var cacheKey: String?
        if step.cache?.enabled == true, workSuffix == nil {
            let key = Self.cacheKey(module: module, inputs: inputs, consumed: consumed)
            cacheKey = key
            let notBefore = step.cache?.expireAfter.map { clock.now - $0.seconds }
            if let hit = try? store.cachedOutputs(key: key, notBefore: notBefore) {
                observer.notify(
                    .cacheDecision(
                        step: step.name, hit: true, key: key,
                        explanation: "hit: same module, code, inputs and parameters as step '\(hit.step)' of "
                            + "execution \(hit.executionID)"))
                return Completion(outcome: .succeeded(hit.outputs, cacheKey: key, cacheHit: true))
            }
            observer.notify(
                .cacheDecision(
                    step: step.name, hit: false, key: key,
                    explanation: "miss: no earlier successful attempt with key \(key.prefix(19))… "
                        + "(module definition, code files, input contents or parameters differ)"))
        }
        var directory = "\(configuration.executionsDirectory)/\(resolver.executionID)/\(step.name)/\(attempt)"
        if let workSuffix { directory += "/\(workSuffix)" }
        let request = StepRequest(
            executionID: resolver.executionID, stepName: step.name, attempt: attempt, module: module, inputs: inputs,
            workDirectory: directory)
        let result = await withTimeout(step.timeout?.seconds) {
            do {
                return try await executor.run(request)
            } catch {
                return .failed(StepFailure("Sluice.InfrastructureFault", cause: "\(error)"))
            }
        }
        guard case .succeeded(let outputs) = result else {
            if case .failed(let failure) = result { return Completion(outcome: .failed(failure)) }
            return Completion(outcome: .cancelled)
        }
        var uses = consumed.map {
            ExecutionChanges.ArtifactUse(
                artifact: $0.artifact, step: step.name, attempt: attempt, role: .consumed, port: $0.port, path: $0.path)
        }
        if let artifacts, workSuffix == nil {
            for port in module.outputs where [.data, .model, .report].contains(port.type) {
                guard case .string(let path) = outputs[port.name], FileManager.default.fileExists(atPath: path) else {
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
            cacheEntry: cacheKey.map { ($0, outputs) })
    }

    /// Races the body against a timeout on the engine's clock; the loser is cancelled (and must stop).
    func withTimeout(
        _ seconds: Double?, _ body: @escaping @Sendable () async -> StepResult
    ) async -> StepResult? {
        guard let seconds else { return await body() }
        let clock = clock
        return await withTaskGroup(of: StepResult?.self) { group in
            group.addTask { await body() }
            group.addTask {
                do {
                    try await clock.sleep(seconds: seconds)
                } catch {
                    return nil
                }
                return .failed(StepFailure(ErrorName.timeout, cause: "the step ran longer than \(seconds)s"))
            }
            var first = await group.next() ?? nil
            if first == nil, !Task.isCancelled { first = await group.next() ?? nil }
            group.cancelAll()
            return first
        }
    }

    /// The cache key: a hash of the module definition, its code files' content, the inputs (file inputs by
    /// content hash, not path) — parameters reach a step through its inputs, so they are covered.
    static func cacheKey(
        module: Module, inputs: [String: JSONValue],
        consumed: [(port: String, path: String, artifact: ArtifactReference)]
    ) -> String {
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
                code[file.name] = .string(SHA256.hex([UInt8](data)))
            }
        }
        var hasher = SHA256()
        hasher.update(canonicalJSON(definition))
        hasher.update(JSONValue.object(code).canonicalJSON)
        hasher.update(JSONValue.object(keyedInputs).canonicalJSON)
        return "sha256:" + hasher.finalizeHex()
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

    // MARK: Map

    func runMap(
        _ step: Step, _ spec: MapSpec, attempt: Int, pipeline: Pipeline, resolver: ReferenceResolver,
        observer: any ExecutionObserver
    ) async -> Completion {
        var items: [JSONValue] = []
        do {
            switch spec.items {
            case .list(let binding):
                let value = try Self.value(of: binding, resolver: resolver)
                guard let list = value.array else {
                    return Completion(
                        outcome: .failed(
                            StepFailure("Sluice.MapItems", cause: "items are \(value.typeName), not a list")))
                }
                items = list
            case .files(let binding, let glob):
                guard case .string(let folder) = try Self.value(of: binding, resolver: resolver) else {
                    return Completion(outcome: .failed(StepFailure("Sluice.MapItems", cause: "folder is not a path")))
                }
                let names = try FileManager.default.contentsOfDirectory(atPath: folder).sorted()
                items = names.filter { glob == nil || fnmatch(glob!, $0, 0) == 0 }.map { .string("\(folder)/\($0)") }
            }
        } catch {
            return Completion(outcome: .failed(StepFailure("Sluice.MapItems", cause: "\(error)")))
        }
        let width = spec.maxConcurrency > 0 ? spec.maxConcurrency : configuration.maxParallel
        var results = [JSONValue](repeating: .null, count: items.count)
        var failure: StepFailure?
        let allItems = items
        await withTaskGroup(of: (Int, Completion).self) { group in
            var next = 0
            var done = 0
            func add() {
                let index = next
                next += 1
                group.addTask {
                    (
                        index,
                        await self.runTask(
                            step, spec.task, attempt: attempt, pipeline: pipeline, resolver: resolver,
                            item: allItems[index], workSuffix: "item-\(index)", observer: observer)
                    )
                }
            }
            while next < min(width, items.count) { add() }
            for await (index, completion) in group {
                done += 1
                observer.notify(.mapProgress(step: step.name, done: done, total: items.count))
                switch completion.outcome {
                case .succeeded(let outputs, _, _): results[index] = .object(outputs)
                case .failed(let error): failure = failure ?? error
                case .cancelled: failure = failure ?? StepFailure("Sluice.Cancelled", cause: "cancelled")
                }
                if failure == nil, next < items.count { add() }
            }
        }
        if let failure { return Completion(outcome: .failed(failure)) }
        return Completion(outcome: .succeeded(["results": .array(results)]))
    }

    static func value(of binding: Binding, resolver: ReferenceResolver) throws -> JSONValue {
        switch binding {
        case .literal(let value): value
        case .reference(let reference): try resolver.resolve(reference, item: nil)
        case .template(let template): .string(try template.render { try resolver.resolve($0, item: nil) })
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
                let token = "sl-" + bytes.map { String(format: "%02x", $0) }.joined()
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
                observer.notify(.approvalRequested(step: step.name, token: token, message: message ?? ""))
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

    func runWait(_ spec: WaitSpec, resolver: ReferenceResolver) async -> Completion {
        var seconds = spec.seconds?.seconds ?? 0
        if let until = spec.until {
            guard let text = try? until.render({ try resolver.resolve($0, item: nil) }),
                let date = ISO8601DateFormatter().date(from: text)
            else {
                return Completion(outcome: .failed(StepFailure("Sluice.WaitUntil", cause: "not an ISO-8601 time")))
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
