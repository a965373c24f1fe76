import Foundation
import SluiceCore

// Reading steps, control edges and compiling each step by kind.
extension PipelineCompiler {
    func readStateMachine(_ entries: [SpecNode.Entry], node: SpecNode) -> (String, SourceLocation)? {
        var startsAt: (String, SourceLocation)?
        for entry in entries {
            if Fields.canonical(entry.key) == "startsat" || Fields.canonical(entry.key) == "startat" {
                if let name = reporter.string(entry.value, "'StartsAt'") { startsAt = (name, entry.value.location) }
                continue
            }
            guard let fields = reporter.fields(entry.value, "step '\(entry.key)'") else { continue }
            addStep(name: entry.key, location: entry.keyLocation, fields: fields, onFailure: false)
        }
        if startsAt == nil {
            reporter.error(
                "missing-key", "the state machine has no 'StartsAt'", at: node.location,
                fix: "add 'StartsAt: <first step>' under 'Steps:'")
        }
        for step in raw {
            guard let nextNode = step.fields["next"], let next = nextNode.scalarText else { continue }
            previous[next] = previous[next] == nil ? step.name : ""
        }
        previous = previous.filter { !$0.value.isEmpty }
        return startsAt
    }

    func readList(_ items: [SpecNode], onFailure: Bool) {
        var last: String?
        for item in items {
            guard let fields = reporter.fields(item, "a step") else { continue }
            guard let nameNode = fields["name"], let name = reporter.string(nameNode, "a step's 'name'") else {
                if fields["name"] == nil {
                    reporter.error(
                        "missing-key", "a step has no 'name'", at: item.location, fix: "add 'name:' to the step")
                }
                continue
            }
            if addStep(name: name, location: nameNode.location, fields: fields, onFailure: onFailure) {
                if let last, !onFailure { previous[name] = last }
                last = name
            }
        }
    }

    @discardableResult
    func addStep(name: String, location: SourceLocation, fields: Fields, onFailure: Bool) -> Bool {
        if let first = rawByName[name] {
            reporter.error(
                "duplicate-name", "step '\(name)' is defined twice (first on line \(first.location.line))",
                at: location,
                fix: "give each step a unique name")
            return false
        }
        var kind = "Task"
        if let typeNode = fields["type"], let text = reporter.string(typeNode, "the step's 'type'") {
            let aliases = ["choice": "Condition", "pass": "Succeed"]
            if let found = Self.kinds.first(where: { $0.lowercased() == text.lowercased() })
                ?? aliases[text.lowercased()]
            {
                kind = found
            } else {
                let suggestion = closestMatch(to: text, in: Self.kinds)
                reporter.error(
                    "unknown-type",
                    "unknown step type '\(text)'" + (suggestion.map { "; did you mean '\($0)'?" } ?? ""),
                    at: typeNode.location, fix: "use one of \(Self.kinds.joined(separator: ", "))")
                return false
            }
        } else if !fields.has("module") && !fields.has("module_id") {
            reporter.error(
                "missing-key", "step '\(name)' has neither 'type' nor 'module'", at: location,
                fix: "add 'module: <ModuleName>' for a task, or 'type:' (\(Self.kinds.joined(separator: ", ")))")
            return false
        }
        let named = Fields(node: fields.node, entries: fields.entries, what: "step '\(name)'")
        let step = RawStep(
            name: name, location: location, fields: named, kind: kind, module: nil, onFailure: onFailure)
        raw.append(step)
        rawByName[name] = step
        return true
    }

    // MARK: Edges

    /// Resolves a step name written at `location`, reporting an unknown one with the closest existing name.
    func stepName(_ name: String, at location: SourceLocation, role: String) -> String? {
        if let step = rawByName[name], !step.onFailure { return name }
        brokenEdge = true
        let candidates = raw.filter { !$0.onFailure }.map(\.name)
        reporter.diagnostics.append(PipelineRules.unknownStep(name, at: location, role: role, candidates: candidates))
        return nil
    }

    func addEdge(to step: String, _ dependency: Dependency) {
        guard !(edges[step] ?? []).contains(dependency) else { return }
        edges[step, default: []].append(dependency)
    }

    func buildControlEdges() {
        for step in raw where !step.onFailure {
            let fields = step.fields
            if Self.allowedKeys(step.kind).contains("next"), let node = fields["next"],
                let next = reporter.string(node, "'Next'"),
                let target = stepName(next, at: node.location, role: "'Next' of step '\(step.name)'")
            {
                addEdge(to: target, Dependency(step.name))
            }
            for (name, location) in reporter.names(fields["after"], "a step name in 'after'") {
                if let target = stepName(name, at: location, role: "'after' of step '\(step.name)'") {
                    addEdge(to: step.name, Dependency(target))
                }
            }
            if step.kind == "Condition" {
                for (key, outcome) in [("then", Dependency.Outcome.conditionTrue), ("else", .conditionFalse)] {
                    for (name, location) in reporter.names(fields[key], "a step name in '\(key)'") {
                        if let target = stepName(name, at: location, role: "'\(key)' of condition '\(step.name)'") {
                            addEdge(to: target, Dependency(step.name, on: outcome))
                        }
                    }
                }
            }
        }
    }

    /// In the list form, reading a step's output makes the reader wait for it.
    ///
    /// A data edge is left out when the step already waits for it through another dependency, so the list form
    /// yields the same graph as the state machine it mirrors.
    func addDataEdges(_ steps: inout [Step]) {
        var added: [String: [String]] = [:]
        for step in steps {
            for reference in dataReferences[step.name] ?? []
            where !(edges[step.name] ?? []).contains(where: { $0.step == reference.step }) {
                addEdge(to: step.name, Dependency(reference.step))
                added[step.name, default: []].append(reference.step)
            }
        }
        var graph = DependencyGraph(nodes: steps.map(\.name))
        for (target, dependencies) in edges {
            for dependency in dependencies { graph.addEdge(from: dependency.step, to: target) }
        }
        guard graph.topologicalOrder() != nil else { return }
        for step in steps {
            for source in added[step.name] ?? [] {
                let descendants = graph.reachable(from: [source])
                let others = (edges[step.name] ?? []).filter { $0.step != source }
                if others.contains(where: { descendants.contains($0.step) }) {
                    edges[step.name]?.removeAll { $0 == Dependency(source) }
                }
            }
        }
    }

    // MARK: Steps

    private static let commonKeys = ["name", "type", "description", "after"]
    private static let flowKeys = ["next", "end"]
    private static let resilienceKeys = ["retry", "catch", "timeout", "heartbeat"]
    private static let taskKeys = ["module", "module_id", "inputs", "cache"]
    private static let mapKeys = ["items", "files", "glob", "max_concurrency"]
    private static let conditionKeys = ["condition", "if", "then", "else"]
    private static let allStepKeys =
        commonKeys + flowKeys + resilienceKeys + taskKeys + mapKeys + conditionKeys
        + ["message", "error", "notify", "seconds", "until"]

    static func allowedKeys(_ kind: String) -> [String] {
        switch kind {
        case "Task": commonKeys + flowKeys + resilienceKeys + taskKeys
        case "Map": commonKeys + flowKeys + resilienceKeys + taskKeys + mapKeys
        case "Condition": commonKeys + conditionKeys
        case "Fail": commonKeys + ["message", "error"]
        case "Succeed": commonKeys
        case "Approval": commonKeys + flowKeys + ["message", "notify", "timeout", "catch"]
        default: commonKeys + flowKeys + ["seconds", "until"]
        }
    }

    func compileStep(_ step: RawStep) -> Step? {
        let fields = step.fields
        let allowed = Self.allowedKeys(step.kind)
        let inapplicable = Dictionary(
            Self.allStepKeys.filter { !allowed.contains($0) }.map {
                (Fields.canonical($0), (reason: "a \(step.kind) step has no '\($0)'", fix: String?.none))
            }, uniquingKeysWith: { a, _ in a })
        fields.checkKeys(allowed, reporter: reporter, inapplicable: inapplicable)
        if let node = fields["end"], let end = reporter.bool(node, "'End'"), end, fields.has("next") {
            reporter.error(
                "bad-value", "step '\(step.name)' has both 'Next' and 'End: true'", at: node.location,
                fix: "keep 'Next' to continue or 'End' to stop, not both")
        }
        let kind: Step.Kind
        switch step.kind {
        case "Task":
            guard let task = taskSpec(step) else { return nil }
            kind = .task(task)
        case "Map":
            guard let task = taskSpec(step) else { return nil }
            var items: MapSpec.Items?
            if let node = fields["items"] {
                items = binding(node, in: step, inputType: .json).map { .list($0) }
            } else if let node = fields["files"] {
                let glob = fields["glob"].flatMap { reporter.string($0, "'glob'") }
                items = binding(node, in: step, inputType: .data).map { .files($0, glob: glob) }
            } else {
                reporter.error(
                    "map-without-items", "Map step '\(step.name)' has neither 'items' nor 'files'", at: step.location,
                    fix: "add 'items: $.parameters.List' or 'files: $.parameters.InputFolder'")
            }
            let concurrency = fields["max_concurrency"].flatMap { reporter.int($0, "'max_concurrency'") } ?? 0
            guard let items else { return nil }
            kind = .map(MapSpec(items: items, task: task, maxConcurrency: concurrency))
        case "Condition":
            guard let node = fields["condition", "if"] else {
                reporter.error(
                    "missing-key", "condition '\(step.name)' has no 'condition'", at: step.location,
                    fix: "add e.g. 'condition: $.steps.Evaluate.outputs.report.regression_metrics.mse.value <= 6.0'")
                return nil
            }
            guard let condition = condition(node, in: step) else { return nil }
            let then = reporter.names(fields["then"], "a step name").map(\.0)
            let otherwise = reporter.names(fields["else"], "a step name").map(\.0)
            kind = .condition(ConditionSpec(condition: condition, then: then, otherwise: otherwise))
        case "Fail":
            let message = fields["message"].flatMap { template($0, in: step) } ?? Template(literal: "")
            let error = fields["error"].flatMap { reporter.string($0, "'error'") } ?? ErrorName.fail
            kind = .fail(FailSpec(message: message, error: error))
        case "Succeed":
            kind = .succeed
        case "Approval":
            let message = fields["message"].flatMap { template($0, in: step) }
            let notify = reporter.names(fields["notify"], "a recipient").map(\.0)
            let timeout = reporter.duration(fields["timeout"], "'timeout'")
            kind = .approval(ApprovalSpec(message: message, notify: notify, timeout: timeout))
        default:
            let seconds = reporter.duration(fields["seconds"], "'seconds'")
            let until = fields["until"].flatMap { template($0, in: step) }
            if seconds == nil, until == nil, !fields.has("seconds"), !fields.has("until") {
                reporter.error(
                    "missing-key", "wait step '\(step.name)' has neither 'seconds' nor 'until'", at: step.location,
                    fix: "add 'seconds: PT5M' or 'until: <ISO-8601 timestamp>'")
            }
            kind = .wait(WaitSpec(seconds: seconds, until: until))
        }
        let retry = retryRules(fields["retry"])
        let catches = catchRules(fields["catch"], from: step)
        let timeout = step.kind == "Approval" ? nil : reporter.duration(fields["timeout"], "'timeout'")
        let heartbeat = reporter.duration(fields["heartbeat"], "'heartbeat'")
        let cache = fields["cache"].flatMap(cachePolicy)
        let description = fields["description"].flatMap { reporter.string($0, "'description'") }
        return Step(
            name: step.name, kind: kind, retry: retry, catches: catches, timeout: timeout, heartbeat: heartbeat,
            cache: cache, description: description, location: step.location)
    }

    func taskSpec(_ step: RawStep) -> TaskSpec? {
        guard let moduleNode = step.fields["module", "module_id"] else {
            reporter.error(
                "missing-key", "step '\(step.name)' has no 'module'", at: step.location,
                fix: "add 'module: <ModuleName>' (or 'ModuleId: <uuid>')")
            return nil
        }
        guard let reference = reporter.string(moduleNode, "'module'") else { return nil }
        let module = modulesByName[reference] ?? modulesByID[reference.lowercased()]
        guard let module else {
            reporter.unknown(
                "unknown-module", "step '\(step.name)' uses unknown module '\(reference)'", name: reference,
                among: modulesByName.keys, at: moduleNode.location,
                fix: "put the module file beside the pipeline or in its modules/ folder, or list it under 'modules:'")
            return nil
        }
        usedModules[module.name] = module
        var inputs: [String: Binding] = [:]
        var written: Set<String> = []
        if let node = step.fields["inputs"], node.json != .null, let fields = reporter.fields(node, "'inputs'") {
            for entry in fields.entries {
                guard let port = module.input(named: entry.key) else {
                    reporter.unknown(
                        "unknown-input", "module '\(module.name)' has no input '\(entry.key)'", name: entry.key,
                        among: module.inputs.map(\.name), at: entry.keyLocation,
                        fix: "bind one of: \(module.inputs.map(\.name).joined(separator: ", "))")
                    continue
                }
                written.insert(entry.key)
                if let binding = binding(entry.value, in: step, inputType: port.type, inputName: port.name) {
                    inputs[entry.key] = binding
                }
            }
        }
        for port in module.inputs where port.isRequired && !written.contains(port.name) {
            reporter.error(
                "missing-input", "step '\(step.name)' does not bind required input '\(port.name)' of '\(module.name)'",
                at: step.location, fix: "add '\(port.name): …' under 'inputs:', or give the module input a 'value'")
        }
        return TaskSpec(module: module.name, inputs: inputs)
    }
}
