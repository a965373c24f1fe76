import Foundation
import SluiceCore

/// What the graph rules see once every step is compiled: the steps, their edges and the data they read.
struct PipelineGraph {
    var steps: [Step]
    var byName: [String: Step]
    /// Every control and data edge, one node per compiled step.
    var full: DependencyGraph
    var stateMachine: Bool
    var startsAt: (name: String, location: SourceLocation)?
    /// The names steps may refer to (steps of the main flow, compiled or not), in file order.
    var referableSteps: [String]
    /// Set when a step name could not be resolved: reachability would then only repeat that problem.
    var brokenEdge: Bool
    /// The steps whose outputs each step reads, where it reads them.
    var dataReferences: [String: [(step: String, location: SourceLocation)]]

    init(
        steps: [Step], stateMachine: Bool, startsAt: (String, SourceLocation)?, referableSteps: [String],
        brokenEdge: Bool, dataReferences: [String: [(step: String, location: SourceLocation)]]
    ) {
        self.steps = steps
        self.byName = Dictionary(steps.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        var full = DependencyGraph(nodes: steps.map(\.name))
        for step in steps { for dependency in step.after { full.addEdge(from: dependency.step, to: step.name) } }
        self.full = full
        self.stateMachine = stateMachine
        self.startsAt = startsAt.map { (name: $0.0, location: $0.1) }
        self.referableSteps = referableSteps
        self.brokenEdge = brokenEdge
        self.dataReferences = dataReferences
    }

    func location(of name: String) -> SourceLocation {
        byName[name]?.location ?? SourceLocation(file: "?", line: 1, column: 1)
    }
}

/// One check over a compiled pipeline graph.
///
/// The compiler runs `PipelineRules.graph` in order and reports everything they return, so a new check is a new
/// rule added to that list, testable on its own.
protocol PipelineRule: Sendable {
    func diagnostics(for graph: PipelineGraph) -> [Diagnostic]
}

enum PipelineRules {
    static let graph: [any PipelineRule] = [CycleRule(), ReachabilityRule(), EndingStepRule(), BranchRule()]

    static func diagnostics(for graph: PipelineGraph) -> [Diagnostic] {
        self.graph.flatMap { $0.diagnostics(for: graph) }
    }

    /// The diagnostic for a step name that names no step, with the closest existing name.
    static func unknownStep(_ name: String, at location: SourceLocation, role: String, candidates: [String])
        -> Diagnostic
    {
        let suggestion = closestMatch(to: name, in: candidates)
        return .error(
            "unknown-step",
            "\(role) names unknown step '\(name)'" + (suggestion.map { "; did you mean '\($0)'?" } ?? ""), at: location,
            fix: suggestion.map { "write '\($0)'" } ?? "name one of: \(candidates.joined(separator: ", "))")
    }
}

/// Steps that wait for one another in a circle never start.
struct CycleRule: PipelineRule {
    func diagnostics(for graph: PipelineGraph) -> [Diagnostic] {
        graph.full.cycles().map { cycle in
            .error(
                "cycle", "steps form a cycle: \((cycle + [cycle[0]]).joined(separator: " → "))",
                at: graph.location(of: cycle[0]),
                fix: "remove one of these edges (a 'Next', 'after' or data reference) to break the cycle")
        }
    }
}

/// In a state machine, every step is reached from `StartsAt`.
struct ReachabilityRule: PipelineRule {
    func diagnostics(for graph: PipelineGraph) -> [Diagnostic] {
        guard graph.stateMachine, !graph.brokenEdge, let (start, location) = graph.startsAt else { return [] }
        guard graph.referableSteps.contains(start) else {
            return [
                PipelineRules.unknownStep(start, at: location, role: "'StartsAt'", candidates: graph.referableSteps)
            ]
        }
        let reachable = graph.full.reachable(from: [start])
        return graph.steps.filter { !reachable.contains($0.name) }.map { step in
            .error(
                "unreachable-step", "step '\(step.name)' is never reached from '\(start)'",
                at: step.location ?? location, fix: "point a 'Next', 'then', 'else' or 'catch' at it, or remove it")
        }
    }
}

/// A step that waits for a Fail or Succeed step never runs: those end the execution.
struct EndingStepRule: PipelineRule {
    func diagnostics(for graph: PipelineGraph) -> [Diagnostic] {
        var found: [Diagnostic] = []
        for step in graph.steps {
            for dependency in step.after {
                guard let source = graph.byName[dependency.step] else { continue }
                switch source.kind {
                case .fail, .succeed:
                    found.append(
                        .error(
                            "unreachable-step",
                            "step '\(step.name)' waits for '\(source.name)', a \(source.kind.name) step that ends the execution",
                            at: graph.location(of: step.name),
                            fix: "make '\(step.name)' depend on a step that continues, or remove it"))
                default: continue
                }
            }
        }
        return found
    }
}

/// A step reads only outputs of steps that run before it on every path, and never waits for two exclusive
/// outcomes of one condition (or for both a failure and a success of one step).
struct BranchRule: PipelineRule {
    typealias Requirement = [String: Set<Dependency.Outcome>]

    func diagnostics(for graph: PipelineGraph) -> [Diagnostic] {
        guard let order = graph.full.topologicalOrder() else { return [] }
        var found: [Diagnostic] = []
        // For each step, the outcome each earlier step must have had for it to run.
        var requirements: [String: Requirement] = [:]
        var conflicted: Set<String> = []
        for name in order {
            guard let step = graph.byName[name] else { continue }
            let references = graph.dataReferences[name] ?? []
            let dataSteps = Set(references.map(\.step))
            var control: Requirement = [:]
            var inherited = false
            let caughtOnly = step.after.allSatisfy { $0.outcome == .caught }
            for dependency in step.after
            where graph.stateMachine || !dataSteps.contains(dependency.step)
                || dependency.outcome != .succeeded
            {
                // A catch handler runs when any one of the steps routing to it fails: those paths are alternatives.
                if dependency.outcome == .caught && !caughtOnly || caughtOnly && step.after.count > 1 { continue }
                Self.merge(&control, requirements[dependency.step] ?? [:])
                control[dependency.step, default: []].insert(dependency.outcome)
                inherited = inherited || conflicted.contains(dependency.step)
            }
            var all = control
            for reference in references {
                var read = requirements[reference.step] ?? [:]
                read[reference.step, default: []].insert(.succeeded)
                var combined = control
                Self.merge(&combined, read)
                let ancestor = graph.full.reachable(from: [reference.step]).contains(name)
                if !inherited, !conflicted.contains(reference.step),
                    let condition = Self.conflict(combined) ?? (ancestor ? nil : reference.step)
                {
                    let why =
                        condition == reference.step
                        ? "which does not always run before it" : "which runs on another branch of '\(condition)'"
                    found.append(
                        .error(
                            "branch-reference",
                            "step '\(name)' reads an output of '\(reference.step)', \(why)", at: reference.location,
                            fix:
                                "read from a step that runs before '\(name)' on every path, or move '\(name)' into that branch"
                        ))
                    inherited = true
                }
                Self.merge(&all, read)
            }
            if let condition = Self.conflict(all) {
                conflicted.insert(name)
                if !inherited {
                    found.append(
                        .error(
                            "unreachable-step",
                            "step '\(name)' can never run: it waits for exclusive outcomes of '\(condition)'",
                            at: graph.location(of: name), fix: "make it depend on one branch only"))
                }
            }
            requirements[name] = all
        }
        return found
    }

    /// The first earlier step whose required outcomes exclude each other.
    static func conflict(_ requirement: Requirement) -> String? {
        requirement.keys.sorted().first { key in
            let outcomes = requirement[key]!
            return (outcomes.contains(.conditionTrue) && outcomes.contains(.conditionFalse))
                || (outcomes.contains(.caught) && outcomes.count > 1)
        }
    }

    static func merge(_ a: inout Requirement, _ b: Requirement) {
        for (key, value) in b { a[key, default: []].formUnion(value) }
    }
}
