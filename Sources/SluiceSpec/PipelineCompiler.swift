import Foundation
import SluiceCore

/// Turns a parsed pipeline file into a validated `Pipeline`, reporting every problem it finds.
final class PipelineCompiler {
    static let keys = [
        "name", "description", "type", "parameters", "steps", "on_failure", "max_concurrent_executions", "modules",
        "triggers",
    ]
    static let kinds = ["Task", "Condition", "Fail", "Succeed", "Approval", "Wait", "Map"]

    let reporter: Reporter
    let modulesByName: [String: Module]
    let modulesByID: [String: Module]

    private var parameters: [String: Pipeline.Parameter] = [:]
    private var raw: [RawStep] = []
    private var rawByName: [String: RawStep] = [:]
    private var stateMachine = false
    private var edges: [String: [Dependency]] = [:]
    private var dataReferences: [String: [(step: String, location: SourceLocation)]] = [:]
    private var previous: [String: String] = [:]
    private var usedModules: [String: Module] = [:]
    /// Set when a step name could not be resolved: reachability would then only repeat that problem.
    private var brokenEdge = false

    struct RawStep {
        var name: String
        var location: SourceLocation
        var fields: Fields
        var kind: String
        var module: Module?
        var onFailure: Bool
    }

    init(modules: [Module], reporter: Reporter) {
        self.reporter = reporter
        var byName: [String: Module] = [:]
        var byID: [String: Module] = [:]
        for module in modules {
            if let first = byName[module.name] {
                reporter.error(
                    "duplicate-name",
                    "two modules are named '\(module.name)' (the other at \(first.location.map(String.init(describing:)) ?? "?"))",
                    at: module.location ?? SourceLocation(file: "?", line: 1, column: 1),
                    fix: "rename one of them; module names are unique among the modules a pipeline sees")
                continue
            }
            byName[module.name] = module
            if let id = module.id { byID[id] = module }
        }
        modulesByName = byName
        modulesByID = byID
    }

    /// The module paths listed under `modules:`, relative to the pipeline file.
    static func modulePaths(_ root: SpecNode, reporter: Reporter) -> [(String, SourceLocation)] {
        guard let entries = root.entries else { return [] }
        let fields = Fields(node: root, entries: entries, what: "the pipeline")
        return reporter.names(fields["modules"], "a module path")
    }

    func compile(_ root: SpecNode) -> Pipeline? {
        guard let fields = reporter.fields(root, "a pipeline") else { return nil }
        // A step outdented out of `Steps:` (the seed's indentation slip) deserves a precise hint.
        var misplaced: [String: (reason: String, fix: String?)] = [:]
        if fields["steps"]?.entries != nil {
            for entry in fields.entries where Self.looksLikeStep(entry.value) {
                misplaced[Fields.canonical(entry.key)] = (
                    "it looks like a step outside 'Steps:'", "indent '\(entry.key)' and its keys under 'Steps:'"
                )
            }
        }
        fields.checkKeys(Self.keys, reporter: reporter, inapplicable: misplaced)
        let name = reporter.string(fields["name"], "the pipeline's 'name'")
        if fields["name"] == nil {
            reporter.error(
                "missing-key", "the pipeline has no 'name'", at: root.location, fix: "add 'name: MyPipeline' at the top"
            )
        }
        let parameterList = readParameters(fields["parameters"])
        for parameter in parameterList { parameters[parameter.name] = parameter }

        guard let stepsNode = fields["steps"] else {
            reporter.error(
                "missing-key", "the pipeline has no 'steps'", at: root.location,
                fix: "add 'steps:' as a list of steps, or 'Steps:' with 'StartsAt' as a state machine")
            return nil
        }
        var startsAt: (String, SourceLocation)?
        if let entries = stepsNode.entries {
            stateMachine = true
            startsAt = readStateMachine(entries, node: stepsNode)
        } else if let items = stepsNode.items {
            readList(items, onFailure: false)
        } else {
            reporter.badValue(stepsNode, "'steps'", expected: "a list of steps or a state machine mapping")
            return nil
        }
        if let node = fields["on_failure"] {
            if let items = node.items {
                readList(items, onFailure: true)
            } else if node.json != .null {
                reporter.badValue(node, "'on_failure'", expected: "a list of steps")
            }
        }
        buildControlEdges()
        var steps: [Step] = []
        var onFailure: [Step] = []
        for step in raw {
            guard let compiled = compileStep(step) else { continue }
            if step.onFailure { onFailure.append(compiled) } else { steps.append(compiled) }
        }
        if !stateMachine { addDataEdges(&steps) }
        for index in steps.indices { steps[index].after = edges[steps[index].name] ?? [] }
        checkGraph(steps, startsAt: startsAt)

        var maxConcurrent = 1
        if let node = fields["max_concurrent_executions"] {
            maxConcurrent = reporter.int(node, "'max_concurrent_executions'", minimum: 1) ?? 1
        }
        let triggers = readTriggers(fields["triggers"])
        let description = fields["description"].flatMap { reporter.string($0, "'description'") }
        let type = fields["type"].flatMap { reporter.string($0, "'type'") }
        return Pipeline(
            name: name ?? "", description: description, type: type, parameters: parameterList, steps: steps,
            onFailure: onFailure, maxConcurrentExecutions: maxConcurrent, modules: usedModules,
            location: root.location, triggers: triggers)
    }

    static func looksLikeStep(_ node: SpecNode) -> Bool {
        let keys = Set((node.entries ?? []).map { Fields.canonical($0.key) })
        return !keys.isDisjoint(with: ["moduleid", "module", "next", "end"]) && !keys.contains("name")
    }

    // MARK: Parameters and triggers

    private func readParameters(_ node: SpecNode?) -> [Pipeline.Parameter] {
        guard let node, node.json != .null else { return [] }
        var specs: [(String, SourceLocation, Fields)] = []
        if let items = node.items {
            for item in items {
                guard let fields = reporter.fields(item, "a parameter") else { continue }
                guard let name = reporter.string(fields["name"], "a parameter's 'name'") else {
                    if fields["name"] == nil {
                        reporter.error(
                            "missing-key", "a parameter has no 'name'", at: item.location, fix: "add 'name:'")
                    }
                    continue
                }
                specs.append((name, fields["name"]!.location, fields))
            }
        } else if let entries = node.entries {
            for entry in entries {
                guard let fields = reporter.fields(entry.value, "parameter '\(entry.key)'") else { continue }
                specs.append((entry.key, entry.keyLocation, fields))
            }
        } else {
            reporter.badValue(node, "'parameters'", expected: "a list of {name, type, default}")
            return []
        }
        var result: [Pipeline.Parameter] = []
        var seen: Set<String> = []
        for (name, location, fields) in specs {
            fields.checkKeys(
                ["name", "type", "default", "description", "allowed_values"], reporter: reporter)
            guard seen.insert(name).inserted else {
                reporter.error(
                    "duplicate-name", "parameter '\(name)' is declared twice", at: location,
                    fix: "remove or rename one of them")
                continue
            }
            var type = ValueType.string
            if let typeNode = fields["type"], let text = reporter.string(typeNode, "the parameter's 'type'") {
                if let parsed = ValueType(specName: text) {
                    type = parsed
                } else {
                    let suggestion = closestMatch(to: text, in: ValueType.specNames)
                    reporter.error(
                        "unknown-type",
                        "parameter '\(name)' has unknown type '\(text)'"
                            + (suggestion.map { "; did you mean '\($0)'?" } ?? ""),
                        at: typeNode.location, fix: "use one of \(ValueType.specNames.joined(separator: ", "))")
                }
            } else if let value = fields["default"]?.json {
                type = ModuleSpec.inferredType(value)
            }
            let allowed = fields["allowed_values"].map { node -> [JSONValue] in
                guard case .array(let values) = node.json else {
                    reporter.badValue(node, "'allowed_values'", expected: "a list")
                    return []
                }
                return values
            }
            var defaultValue: JSONValue?
            if let node = fields["default"] {
                let value = node.json
                if !type.accepts(value) {
                    reporter.error(
                        "bad-default", "parameter '\(name)' is \(type.rawValue) but its default is \(value.typeName)",
                        at: node.location, fix: "write a \(type.rawValue) default or change the type")
                } else if let allowed, !allowed.isEmpty, !allowed.contains(value) {
                    reporter.error(
                        "bad-default", "the default of parameter '\(name)' is not one of its allowed values",
                        at: node.location,
                        fix: "use one of \(allowed.map(\.interpolationText).joined(separator: ", "))")
                } else {
                    defaultValue = Self.anchored(value, type: type, in: location.file)
                }
            }
            let description = fields["description"].flatMap { reporter.string($0, "'description'") }
            result.append(
                Pipeline.Parameter(
                    name: name, type: type, defaultValue: defaultValue, description: description,
                    allowedValues: allowed, location: location))
        }
        return result
    }

    /// A relative local path given as the default of a data, model or report parameter, made absolute against the
    /// folder of the pipeline file, so a pipeline runs the same from any working directory. URIs (`s3://…`) and
    /// absolute paths are left as written.
    static func anchored(_ value: JSONValue, type: ValueType, in file: String) -> JSONValue {
        guard [.data, .model, .report].contains(type), let path = value.string, !path.isEmpty,
            !path.hasPrefix("/"), !path.contains("://")
        else { return value }
        let folder = URL(fileURLWithPath: file).deletingLastPathComponent()
        return .string(folder.appendingPathComponent(path).standardized.path)
    }

    private func readTriggers(_ node: SpecNode?) -> [Trigger] {
        guard let node, node.json != .null else { return [] }
        guard let items = node.items else {
            reporter.badValue(node, "'triggers'", expected: "a list of triggers")
            return []
        }
        var triggers: [Trigger] = []
        for item in items {
            guard let fields = reporter.fields(item, "a trigger") else { continue }
            fields.checkKeys(["files", "glob", "every", "parameters", "file_parameter"], reporter: reporter)
            var values: [String: JSONValue] = [:]
            if let node = fields["parameters"] {
                if case .object(let object) = node.json {
                    values = object
                } else {
                    reporter.badValue(node, "a trigger's 'parameters'", expected: "a mapping")
                }
                for entry in node.entries ?? [] where parameters[entry.key] == nil {
                    reportUnknownParameter(entry.key, at: entry.keyLocation)
                }
            }
            var fileParameter: String?
            if let node = fields["file_parameter"], let name = reporter.string(node, "'file_parameter'") {
                if parameters[name] == nil { reportUnknownParameter(name, at: node.location) }
                fileParameter = name
            }
            let kind: Trigger.Kind
            if let folder = fields["files"] {
                guard let path = reporter.string(folder, "the folder of a files trigger") else { continue }
                kind = .files(folder: path, glob: fields["glob"].flatMap { reporter.string($0, "'glob'") })
            } else if let every = fields["every"] {
                guard let span = reporter.duration(every, "'every'") else { continue }
                kind = .schedule(every: span)
            } else {
                reporter.error(
                    "missing-key", "a trigger needs 'files' (a folder to watch) or 'every' (a schedule)",
                    at: item.location, fix: "add 'files: data/incoming' or 'every: PT1H'")
                continue
            }
            triggers.append(
                Trigger(kind: kind, parameters: values, fileParameter: fileParameter, location: item.location))
        }
        return triggers
    }

    private func reportUnknownParameter(_ name: String, at location: SourceLocation) {
        let suggestion = closestMatch(to: name, in: parameters.keys.sorted())
        reporter.error(
            "unknown-parameter",
            "unknown parameter '\(name)'" + (suggestion.map { "; did you mean '\($0)'?" } ?? ""), at: location,
            fix: suggestion.map { "write '\($0)'" } ?? "declare it under 'parameters:'")
    }

    // MARK: Reading steps

    private func readStateMachine(_ entries: [SpecNode.Entry], node: SpecNode) -> (String, SourceLocation)? {
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

    private func readList(_ items: [SpecNode], onFailure: Bool) {
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
    private func addStep(name: String, location: SourceLocation, fields: Fields, onFailure: Bool) -> Bool {
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
    private func stepName(_ name: String, at location: SourceLocation, role: String) -> String? {
        if let step = rawByName[name], !step.onFailure { return name }
        brokenEdge = true
        let candidates = raw.filter { !$0.onFailure }.map(\.name)
        let suggestion = closestMatch(to: name, in: candidates)
        reporter.error(
            "unknown-step",
            "\(role) names unknown step '\(name)'" + (suggestion.map { "; did you mean '\($0)'?" } ?? ""), at: location,
            fix: suggestion.map { "write '\($0)'" } ?? "name one of: \(candidates.joined(separator: ", "))")
        return nil
    }

    private func addEdge(to step: String, _ dependency: Dependency) {
        guard !(edges[step] ?? []).contains(dependency) else { return }
        edges[step, default: []].append(dependency)
    }

    private func buildControlEdges() {
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
    private func addDataEdges(_ steps: inout [Step]) {
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

    private func compileStep(_ step: RawStep) -> Step? {
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

    /// The module a mistyped reference most likely meant: by id for a UUID, else by name.
    private func nearestModule(to reference: String) -> String? {
        guard isUUID(reference) else { return closestMatch(to: reference, in: modulesByName.keys.sorted()) }
        return closestMatch(to: reference.lowercased(), in: modulesByID.keys.sorted()).flatMap { modulesByID[$0]?.name }
    }

    private func taskSpec(_ step: RawStep) -> TaskSpec? {
        guard let moduleNode = step.fields["module", "module_id"] else {
            reporter.error(
                "missing-key", "step '\(step.name)' has no 'module'", at: step.location,
                fix: "add 'module: <ModuleName>' (or 'ModuleId: <uuid>')")
            return nil
        }
        guard let reference = reporter.string(moduleNode, "'module'") else { return nil }
        let module = modulesByName[reference] ?? modulesByID[reference.lowercased()]
        guard let module else {
            let suggestion = nearestModule(to: reference)
            let known = modulesByName.keys.filter { !$0.contains("@") }.sorted()
            reporter.error(
                "unknown-module",
                "step '\(step.name)' uses unknown module '\(reference)'"
                    + (suggestion.map { "; did you mean '\($0)'?" } ?? "")
                    + (suggestion != nil || known.isEmpty
                        ? "" : " (modules it sees: \(known.prefix(8).joined(separator: ", ")))"),
                at: moduleNode.location,
                fix: suggestion.map { "write '\($0)'" }
                    ?? "publish it (`sluice modules publish FILE`), put the module file beside the pipeline or in its "
                    + "modules/ folder, or list it under 'modules:'")
            return nil
        }
        usedModules[module.name] = module
        var inputs: [String: Binding] = [:]
        var written: Set<String> = []
        if let node = step.fields["inputs"], node.json != .null, let fields = reporter.fields(node, "'inputs'") {
            for entry in fields.entries {
                guard let port = module.input(named: entry.key) else {
                    let suggestion = closestMatch(to: entry.key, in: module.inputs.map(\.name))
                    reporter.error(
                        "unknown-input",
                        "module '\(module.name)' has no input '\(entry.key)'"
                            + (suggestion.map { "; did you mean '\($0)'?" } ?? ""),
                        at: entry.keyLocation,
                        fix: suggestion.map { "write '\($0)'" }
                            ?? "bind one of: \(module.inputs.map(\.name).joined(separator: ", "))")
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

    // MARK: Values and references

    private func binding(
        _ node: SpecNode, in step: RawStep, inputType: ValueType, inputName: String? = nil
    ) -> Binding? {
        let value = node.json
        let target = inputName.map { "input '\($0)'" } ?? "this field"
        guard case .string(let text) = value else {
            if !inputType.accepts(value) {
                reporter.error(
                    "type-mismatch",
                    "\(target) of step '\(step.name)' is \(inputType.rawValue) but gets \(value.typeName)",
                    at: node.location, fix: "write a \(inputType.rawValue) value")
            }
            return .literal(value)
        }
        if text.trimmingCharacters(in: .whitespaces).hasPrefix("$") {
            guard let (reference, type) = resolve(text, at: node.location, in: step) else { return nil }
            if let type, !type.isAssignable(to: inputType), type != .json {
                reporter.error(
                    "type-mismatch",
                    "\(target) of step '\(step.name)' is \(inputType.rawValue) but \(reference) is \(type.rawValue)",
                    at: node.location, fix: "bind a \(inputType.rawValue) value, or change the input's type")
            }
            return .reference(reference)
        }
        let template = template(node, in: step) ?? Template(literal: text)
        if template.references.isEmpty {
            if !inputType.accepts(value) {
                reporter.error(
                    "type-mismatch", "\(target) of step '\(step.name)' is \(inputType.rawValue) but gets a string",
                    at: node.location, fix: "write a \(inputType.rawValue) value (unquoted)")
            }
            return .literal(value)
        }
        if !ValueType.string.isAssignable(to: inputType) {
            reporter.error(
                "type-mismatch",
                "\(target) of step '\(step.name)' is \(inputType.rawValue) but gets an interpolated string",
                at: node.location, fix: "bind a reference such as $.parameters.X instead of a string")
        }
        return .template(template)
    }

    private func template(_ node: SpecNode, in step: RawStep) -> Template? {
        guard let text = reporter.string(node, "a message") else { return nil }
        var parts: [Template.Part] = []
        for part in TemplateSyntax.parts(text) {
            switch part {
            case .literal(let literal): parts.append(.literal(literal))
            case .reference(let reference, let offset):
                var location = node.location
                // Plain and single-line scalars start at the node; quoted ones one column later.
                location.column += offset + (node.value.isQuoted ? 1 : 0)
                if let (resolved, _) = resolve(reference, at: location, in: step) { parts.append(.reference(resolved)) }
            }
        }
        return Template(parts: parts)
    }

    private func condition(_ node: SpecNode, in step: RawStep) -> Condition? {
        let texts: [(String, SourceLocation)]
        if let items = node.items {
            texts = items.compactMap { item in reporter.string(item, "a condition").map { ($0, item.location) } }
        } else if let text = reporter.string(node, "'condition'") {
            texts = [(text, node.location)]
        } else {
            return nil
        }
        var conditions: [Condition] = []
        final class Types { var byReference: [Reference: ValueType] = [:] }
        let types = Types()
        for (text, location) in texts {
            let parsed = ConditionSyntax.parse(text) { reference in
                guard let (resolved, type) = self.resolve(reference, at: location, in: step) else { return nil }
                if let type { types.byReference[resolved] = type }
                return resolved
            }
            switch parsed {
            case .success(let condition):
                conditions.append(condition)
                checkComparisons(condition, types: types.byReference, at: location, in: step)
            case .failure(let error):
                reporter.error(
                    "bad-expression", "condition of step '\(step.name)' cannot be read: \(error)", at: location,
                    fix: "write e.g. '$.steps.Evaluate.outputs.report.regression_metrics.r2.value >= 0.2'")
            }
        }
        guard conditions.count == texts.count, !conditions.isEmpty else { return nil }
        return conditions.count == 1 ? conditions[0] : .and(conditions)
    }

    /// Reports comparisons that can never succeed statically: a number against a string or a boolean.
    private func checkComparisons(
        _ condition: Condition, types: [Reference: ValueType], at location: SourceLocation, in step: RawStep
    ) {
        func category(_ operand: Condition.Operand) -> String? {
            switch operand {
            case .literal(let value):
                switch value {
                case .int, .double: return "a number"
                case .string: return "a string"
                case .bool: return "a boolean"
                default: return nil
                }
            case .reference(let reference):
                switch types[reference] {
                case .integer, .float: return "a number"
                case .string, .data, .model: return "a string"
                case .boolean: return "a boolean"
                default: return nil
                }
            }
        }
        switch condition {
        case .compare(let left, let comparison, let right):
            guard let a = category(left), let b = category(right), a != b else { return }
            reporter.error(
                "type-mismatch", "condition of step '\(step.name)' compares \(a) \(comparison.rawValue) \(b)",
                at: location, fix: "compare values of the same type (quote strings, leave numbers bare)")
        case .and(let conditions), .or(let conditions):
            for inner in conditions { checkComparisons(inner, types: types, at: location, in: step) }
        case .not(let inner):
            checkComparisons(inner, types: types, at: location, in: step)
        }
    }

    /// Resolves reference text read by `step`, returning it with its static type (nil type: unknown shape).
    private func resolve(_ text: String, at location: SourceLocation, in step: RawStep) -> (Reference, ValueType?)? {
        let syntax: ReferenceSyntax
        switch ReferenceSyntax.parse(text) {
        case .success(let parsed): syntax = parsed
        case .failure(let error):
            reporter.error(
                "bad-reference", "'\(text)' is not a valid reference: \(error)", at: location,
                fix:
                    "write $.parameters.NAME, $.steps.STEP.outputs.NAME, $.steps['A Step'].outputs.NAME or $.execution.id"
            )
            return nil
        }
        switch syntax.root {
        case .parameter(let name):
            guard let parameter = parameters[name] else {
                reportUnknownParameter(name, at: location)
                return nil
            }
            return (Reference(.parameter(name), path: syntax.path), syntax.path.isEmpty ? parameter.type : .json)
        case .execution(let field):
            guard let resolved = Reference.ExecutionField(rawValue: field) else {
                let names = Reference.ExecutionField.allCases.map(\.rawValue)
                let suggestion = closestMatch(to: field, in: names)
                reporter.error(
                    "bad-reference",
                    "unknown execution field '\(field)'" + (suggestion.map { "; did you mean '\($0)'?" } ?? ""),
                    at: location, fix: "use $.execution.id, $.execution.name or $.execution.startTime")
                return nil
            }
            return (Reference(.execution(resolved)), .string)
        case .item:
            guard step.kind == "Map" else {
                reporter.error(
                    "bad-reference", "'$.item' is only defined inside a Map step", at: location,
                    fix: "use $.item in the inputs of a Map step")
                return nil
            }
            return (Reference(.mapItem, path: syntax.path), nil)
        case .previousOutput(let output):
            guard let before = previous[step.name] else {
                reporter.error(
                    "unknown-step", "'$.outputs.\(output)' in step '\(step.name)' has no single previous step to read",
                    at: location, fix: "write $.steps.STEP.outputs.\(output) naming the step")
                return nil
            }
            return stepOutput(before, output, path: syntax.path, at: location, in: step)
        case .stepOutput(let name, let output):
            guard stepName(name, at: location, role: "a reference in step '\(step.name)'") != nil else { return nil }
            return stepOutput(name, output, path: syntax.path, at: location, in: step)
        }
    }

    private func stepOutput(
        _ name: String, _ output: String, path: [PathComponent], at location: SourceLocation, in step: RawStep
    ) -> (Reference, ValueType?)? {
        guard let source = rawByName[name] else { return nil }
        if step.onFailure {
            reporter.error(
                "branch-reference", "on_failure step '\(step.name)' reads step '\(name)', which may not have run",
                at: location, fix: "read parameters or $.execution fields in on_failure steps")
            return nil
        }
        let outputs = moduleOutputs(source)
        guard let port = outputs.first(where: { $0.name == output }) else {
            let suggestion = closestMatch(to: output, in: outputs.map(\.name))
            reporter.error(
                "unknown-output",
                "step '\(name)' has no output '\(output)'" + (suggestion.map { "; did you mean '\($0)'?" } ?? ""),
                at: location,
                fix: suggestion.map { "write '\($0)'" }
                    ?? (outputs.isEmpty
                        ? "a \(source.kind) step has no outputs"
                        : "read one of: \(outputs.map(\.name).joined(separator: ", "))"))
            return nil
        }
        if name == step.name {
            reporter.error(
                "cycle", "step '\(step.name)' reads its own output '\(output)'", at: location,
                fix: "read an output of an earlier step")
            return nil
        }
        dataReferences[step.name, default: []].append((name, location))
        let type: ValueType = source.kind == "Map" || !path.isEmpty ? .json : port.type
        return (Reference(.stepOutput(step: name, output: output), path: path), type)
    }

    private func moduleOutputs(_ step: RawStep) -> [Module.Port] {
        guard step.kind == "Task" || step.kind == "Map",
            let reference = step.fields["module", "module_id"]?.scalarText,
            let module = modulesByName[reference] ?? modulesByID[reference.lowercased()]
        else { return [] }
        return module.outputs
    }

    // MARK: Retry, catch, cache

    private func errorNames(_ fields: Fields) -> [String] {
        let names = reporter.names(fields["error_equals", "errors"], "an error name").map(\.0)
        return names.isEmpty ? [ErrorName.all] : names
    }

    private func retryRules(_ node: SpecNode?) -> [RetryRule] {
        guard let node, node.json != .null else { return [] }
        let items = node.items ?? [node]
        return items.compactMap { item in
            guard let fields = reporter.fields(item, "a retry rule") else { return nil }
            fields.checkKeys(
                [
                    "error_equals", "errors", "interval", "interval_seconds", "max_attempts", "backoff_rate",
                    "max_delay", "max_delay_seconds", "jitter", "jitter_strategy",
                ], reporter: reporter)
            var rule = RetryRule(errorEquals: errorNames(fields))
            if let interval = reporter.duration(fields["interval", "interval_seconds"], "'interval'") {
                rule.interval = interval
            }
            if let attempts = reporter.int(fields["max_attempts"], "'max_attempts'") { rule.maxAttempts = attempts }
            if let rate = fields["backoff_rate"] {
                if let value = reporter.double(rate, "'backoff_rate'") {
                    if value < 1 {
                        reporter.error(
                            "bad-value", "'backoff_rate' must be at least 1", at: rate.location, fix: "write e.g. 2.0")
                    }
                    rule.backoffRate = value
                }
            }
            rule.maxDelay = reporter.duration(fields["max_delay", "max_delay_seconds"], "'max_delay'")
            if let node = fields["jitter", "jitter_strategy"], let text = reporter.string(node, "'jitter'") {
                if let jitter = RetryRule.Jitter(rawValue: text.uppercased()) {
                    rule.jitter = jitter
                } else {
                    reporter.error(
                        "bad-value", "jitter '\(text)' is not FULL or NONE", at: node.location,
                        fix: "write FULL or NONE")
                }
            }
            return rule
        }
    }

    private func catchRules(_ node: SpecNode?, from step: RawStep) -> [CatchRule] {
        guard let node, node.json != .null else { return [] }
        let items = node.items ?? [node]
        return items.compactMap { item in
            guard let fields = reporter.fields(item, "a catch rule") else { return nil }
            fields.checkKeys(["error_equals", "errors", "next"], reporter: reporter)
            guard let nextNode = fields["next"], let next = reporter.string(nextNode, "'next'") else {
                if fields["next"] == nil {
                    reporter.error(
                        "missing-key", "a catch rule has no 'next'", at: item.location, fix: "add 'next: <step name>'")
                }
                return nil
            }
            guard !step.onFailure,
                let target = stepName(next, at: nextNode.location, role: "'catch' of step '\(step.name)'")
            else { return nil }
            addEdge(to: target, Dependency(step.name, on: .caught))
            return CatchRule(errorEquals: errorNames(fields), next: target)
        }
    }

    private func cachePolicy(_ node: SpecNode) -> CachePolicy? {
        if case .bool(let enabled) = node.json { return CachePolicy(enabled: enabled) }
        guard let fields = reporter.fields(node, "'cache'") else { return nil }
        fields.checkKeys(["enabled", "expire_after"], reporter: reporter)
        let enabled = fields["enabled"].flatMap { reporter.bool($0, "'enabled'") } ?? true
        return CachePolicy(enabled: enabled, expireAfter: reporter.duration(fields["expire_after"], "'expire_after'"))
    }

    // MARK: Graph checks

    private func checkGraph(_ steps: [Step], startsAt: (String, SourceLocation)?) {
        let byName = Dictionary(steps.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        var full = DependencyGraph(nodes: steps.map(\.name))
        for step in steps { for dependency in step.after { full.addEdge(from: dependency.step, to: step.name) } }
        let cycles = full.cycles()
        for cycle in cycles {
            let first = byName[cycle[0]]
            reporter.error(
                "cycle", "steps form a cycle: \((cycle + [cycle[0]]).joined(separator: " → "))",
                at: first?.location ?? SourceLocation(file: "?", line: 1, column: 1),
                fix: "remove one of these edges (a 'Next', 'after' or data reference) to break the cycle")
        }
        if stateMachine, !brokenEdge, let (start, location) = startsAt {
            if stepName(start, at: location, role: "'StartsAt'") != nil {
                let reachable = full.reachable(from: [start])
                for step in steps where !reachable.contains(step.name) {
                    reporter.error(
                        "unreachable-step", "step '\(step.name)' is never reached from '\(start)'",
                        at: step.location ?? location,
                        fix: "point a 'Next', 'then', 'else' or 'catch' at it, or remove it")
                }
            }
        }
        for step in steps {
            for dependency in step.after {
                guard let source = byName[dependency.step] else { continue }
                switch source.kind {
                case .fail, .succeed:
                    reporter.error(
                        "unreachable-step",
                        "step '\(step.name)' waits for '\(source.name)', a \(source.kind.name) step that ends the execution",
                        at: step.location ?? SourceLocation(file: "?", line: 1, column: 1),
                        fix: "make '\(step.name)' depend on a step that continues, or remove it")
                default: continue
                }
            }
        }
        guard cycles.isEmpty, let order = full.topologicalOrder() else { return }
        // For each step, the outcome each earlier step must have had for it to run.
        var requirements: [String: [String: Set<Dependency.Outcome>]] = [:]
        func conflict(_ requirement: [String: Set<Dependency.Outcome>]) -> String? {
            requirement.keys.sorted().first { key in
                let outcomes = requirement[key]!
                return (outcomes.contains(.conditionTrue) && outcomes.contains(.conditionFalse))
                    || (outcomes.contains(.caught) && outcomes.count > 1)
            }
        }
        func merge(_ a: inout [String: Set<Dependency.Outcome>], _ b: [String: Set<Dependency.Outcome>]) {
            for (key, value) in b { a[key, default: []].formUnion(value) }
        }
        var conflicted: Set<String> = []
        for name in order {
            guard let step = byName[name] else { continue }
            let dataSteps = Set((dataReferences[name] ?? []).map(\.step))
            var control: [String: Set<Dependency.Outcome>] = [:]
            var inherited = false
            let caughtOnly = step.after.allSatisfy { $0.outcome == .caught }
            for dependency in step.after
            where stateMachine || !dataSteps.contains(dependency.step)
                || dependency.outcome != .succeeded
            {
                // A catch handler runs when any one of the steps routing to it fails: those paths are alternatives.
                if dependency.outcome == .caught && !caughtOnly || caughtOnly && step.after.count > 1 { continue }
                merge(&control, requirements[dependency.step] ?? [:])
                control[dependency.step, default: []].insert(dependency.outcome)
                inherited = inherited || conflicted.contains(dependency.step)
            }
            var all = control
            for reference in dataReferences[name] ?? [] {
                var read = requirements[reference.step] ?? [:]
                read[reference.step, default: []].insert(.succeeded)
                var combined = control
                merge(&combined, read)
                let ancestor = full.reachable(from: [reference.step]).contains(name)
                if !inherited, !conflicted.contains(reference.step),
                    let condition = conflict(combined) ?? (ancestor ? nil : reference.step)
                {
                    let why =
                        condition == reference.step
                        ? "which does not always run before it" : "which runs on another branch of '\(condition)'"
                    reporter.error(
                        "branch-reference",
                        "step '\(name)' reads an output of '\(reference.step)', \(why)", at: reference.location,
                        fix:
                            "read from a step that runs before '\(name)' on every path, or move '\(name)' into that branch"
                    )
                    inherited = true
                }
                merge(&all, read)
            }
            if let condition = conflict(all) {
                conflicted.insert(name)
                if !inherited {
                    reporter.error(
                        "unreachable-step",
                        "step '\(name)' can never run: it waits for exclusive outcomes of '\(condition)'",
                        at: step.location ?? SourceLocation(file: "?", line: 1, column: 1),
                        fix: "make it depend on one branch only")
                }
            }
            requirements[name] = all
        }
    }
}

extension SpecNode.Value {
    var isQuoted: Bool {
        if case .scalar(_, let quoted) = self { quoted } else { false }
    }
}
