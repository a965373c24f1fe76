import Foundation
import SluiceCore

/// Turns a parsed pipeline file into a validated `Pipeline`, reporting every problem it finds.
///
/// Compiling reads parameters, triggers and steps (`+Parameters`, `+Steps`), resolves each binding, template and
/// condition with its static type (`+References`, `+Resilience`), then runs the graph rules of `PipelineRules`
/// over the compiled steps, each returning its own diagnostics.
final class PipelineCompiler {
    static let keys = [
        "name", "description", "type", "parameters", "steps", "on_failure", "max_concurrent_executions", "modules",
        "triggers",
    ]
    static let kinds = ["Task", "Condition", "Fail", "Succeed", "Approval", "Wait", "Map"]

    let reporter: Reporter
    let modulesByName: [String: Module]
    let modulesByID: [String: Module]

    var parameters: [String: Pipeline.Parameter] = [:]
    var raw: [RawStep] = []
    var rawByName: [String: RawStep] = [:]
    var stateMachine = false
    var edges: [String: [Dependency]] = [:]
    var dataReferences: [String: [(step: String, location: SourceLocation)]] = [:]
    var previous: [String: String] = [:]
    var usedModules: [String: Module] = [:]
    /// Set when a step name could not be resolved: reachability would then only repeat that problem.
    var brokenEdge = false

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
        let graph = PipelineGraph(
            steps: steps, stateMachine: stateMachine, startsAt: startsAt,
            referableSteps: raw.filter { !$0.onFailure }.map(\.name), brokenEdge: brokenEdge,
            dataReferences: dataReferences)
        reporter.diagnostics += PipelineRules.diagnostics(for: graph)

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

}

extension SpecNode.Value {
    var isQuoted: Bool {
        if case .scalar(_, let quoted) = self { quoted } else { false }
    }
}
