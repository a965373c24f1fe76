import Foundation
import SluiceCore

/// Draws a validated pipeline's graph as text, Graphviz DOT or Mermaid.
public enum GraphRenderer {
    public enum Format: String, Sendable, CaseIterable {
        case text, dot, mermaid
    }

    public static func render(_ pipeline: Pipeline, as format: Format) -> String {
        switch format {
        case .text: text(pipeline)
        case .dot: dot(pipeline)
        case .mermaid: mermaid(pipeline)
        }
    }

    /// One block per step: its kind, module, what it waits for and what it reads.
    static func text(_ pipeline: Pipeline) -> String {
        var lines = ["pipeline \(pipeline.name)"]
        for parameter in pipeline.parameters {
            let value = parameter.defaultValue.map { " = \($0.interpolationText)" } ?? ""
            lines.append("  parameter \(parameter.name): \(parameter.type.rawValue)\(value)")
        }
        for trigger in pipeline.triggers { lines.append("  trigger: \(trigger.summary)") }
        func describe(_ step: Step, indent: String) {
            var head = "\(indent)\(step.name) [\(step.kind.name)"
            if case .task(let task) = step.kind { head += " \(task.module)" }
            if case .map(let map) = step.kind { head += " \(map.task.module)" }
            lines.append(head + "]")
            for dependency in step.after {
                let outcome = dependency.outcome == .succeeded ? "" : " (\(label(dependency.outcome)))"
                lines.append("\(indent)  after \(dependency.step)\(outcome)")
            }
            for reference in step.references.map(\.description).sorted() {
                lines.append("\(indent)  reads \(reference)")
            }
            for rule in step.catches {
                lines.append("\(indent)  catch \(rule.errorEquals.joined(separator: ", ")) → \(rule.next)")
            }
        }
        for step in pipeline.steps { describe(step, indent: "  ") }
        if !pipeline.onFailure.isEmpty {
            lines.append("  on failure:")
            for step in pipeline.onFailure { describe(step, indent: "    ") }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    static func label(_ outcome: Dependency.Outcome) -> String {
        switch outcome {
        case .succeeded: ""
        case .conditionTrue: "then"
        case .conditionFalse: "else"
        case .caught: "catch"
        }
    }

    static func dot(_ pipeline: Pipeline) -> String {
        func quoted(_ text: String) -> String {
            "\""
                + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
                .replacingOccurrences(of: "\n", with: "\\n") + "\""
        }
        var lines = ["digraph \(quoted(pipeline.name)) {", "  rankdir=TB;", "  node [shape=box, style=rounded];"]
        for step in pipeline.steps {
            let shape =
                switch step.kind {
                case .condition: ", shape=diamond"
                case .fail: ", color=red"
                case .succeed: ", color=green"
                case .approval: ", shape=hexagon"
                default: ""
                }
            lines.append("  \(quoted(step.name)) [label=\(quoted(step.name + "\n" + step.kind.name))\(shape)];")
        }
        for step in pipeline.steps {
            for dependency in step.after {
                let outcome = label(dependency.outcome)
                let attributes =
                    outcome.isEmpty ? "" : " [label=\(quoted(outcome))\(outcome == "catch" ? ", style=dashed" : "")]"
                lines.append("  \(quoted(dependency.step)) -> \(quoted(step.name))\(attributes);")
            }
        }
        lines.append("}")
        return lines.joined(separator: "\n") + "\n"
    }

    static func mermaid(_ pipeline: Pipeline) -> String {
        var ids: [String: String] = [:]
        for (index, step) in pipeline.steps.enumerated() { ids[step.name] = "s\(index)" }
        func text(_ name: String) -> String { name.replacingOccurrences(of: "\"", with: "#quot;") }
        var lines = ["flowchart TD"]
        for step in pipeline.steps {
            let id = ids[step.name]!
            switch step.kind {
            case .condition: lines.append("  \(id){\"\(text(step.name))\"}")
            case .approval: lines.append("  \(id){{\"\(text(step.name))\"}}")
            default: lines.append("  \(id)[\"\(text(step.name))\"]")
            }
        }
        for step in pipeline.steps {
            for dependency in step.after {
                guard let from = ids[dependency.step], let to = ids[step.name] else { continue }
                let outcome = label(dependency.outcome)
                lines.append(outcome.isEmpty ? "  \(from) --> \(to)" : "  \(from) -->|\(outcome)| \(to)")
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
