import SluiceCore
import SluiceServer

/// Draws a pipeline's steps as an SVG graph, left to right: each step in the column after its deepest dependency.
///
/// Nodes carry `data-step` (the step's name) and a `st-<status>` class, which the stylesheet colours and the
/// console's script changes as the execution runs. No inline styles: the Content-Security-Policy forbids them.
enum PipelineGraphSVG {
    static let nodeWidth = 190
    static let nodeHeight = 46
    static let columnGap = 70
    static let rowGap = 26
    static let margin = 16

    /// One node's label below its name.
    struct Node {
        var name: String
        var status: String
        var label: String
    }

    /// - Parameters:
    ///   - steps: the steps in the pipeline's order, each with its dependencies' names.
    ///   - nodes: what each step shows (status class and label), by name.
    static func render(steps: [(name: String, after: [String])], nodes: [String: Node]) -> String {
        let names = steps.map(\.name)
        let known = Set(names)
        var column: [String: Int] = [:]
        // Longest path from an entry step; a cycle (never in a validated pipeline) stops at the recursion guard.
        func depth(_ name: String, _ visiting: Set<String>) -> Int {
            if let cached = column[name] { return cached }
            let after = steps.first { $0.name == name }?.after.filter { known.contains($0) && !visiting.contains($0) }
            let value = (after ?? []).map { depth($0, visiting.union([name])) + 1 }.max() ?? 0
            column[name] = value
            return value
        }
        for name in names { _ = depth(name, []) }
        var rows: [Int: Int] = [:]
        var position: [String: (x: Int, y: Int)] = [:]
        for name in names {
            let col = column[name] ?? 0
            let row = rows[col, default: 0]
            rows[col] = row + 1
            position[name] = (
                margin + col * (nodeWidth + columnGap), margin + row * (nodeHeight + rowGap)
            )
        }
        let width = margin * 2 + ((column.values.max() ?? 0) + 1) * (nodeWidth + columnGap) - columnGap
        let height = margin * 2 + (rows.values.max() ?? 1) * (nodeHeight + rowGap) - rowGap
        var svg = [
            "<svg class=\"pipeline-graph\" xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" "
                + "viewBox=\"0 0 \(width) \(height)\" width=\"\(width)\" height=\"\(height)\">"
        ]
        for step in steps {
            guard let to = position[step.name] else { continue }
            for dependency in step.after {
                guard let from = position[dependency] else { continue }
                let (x1, y1) = (from.x + nodeWidth, from.y + nodeHeight / 2)
                let (x2, y2) = (to.x, to.y + nodeHeight / 2)
                let bend = (x2 - x1) / 2
                svg.append(
                    "<path class=\"edge\" d=\"M\(x1) \(y1) C\(x1 + bend) \(y1) \(x2 - bend) \(y2) \(x2) \(y2)\"/>")
            }
        }
        for name in names {
            guard let at = position[name] else { continue }
            let node = nodes[name] ?? Node(name: name, status: "pending", label: "")
            let shown = name.count > 24 ? String(name.prefix(23)) + "…" : name
            let (escapedName, status) = (HTMLText.escape(name), HTMLText.escape(node.status))
            let rect = "<rect x=\"\(at.x)\" y=\"\(at.y)\" width=\"\(nodeWidth)\" height=\"\(nodeHeight)\"/>"
            let title = "<text x=\"\(at.x + 10)\" y=\"\(at.y + 19)\">\(HTMLText.escape(shown))</text>"
            let label =
                "<text class=\"kind\" x=\"\(at.x + 10)\" y=\"\(at.y + 36)\">\(HTMLText.escape(node.label))</text>"
            svg.append(
                "<g class=\"node st-\(status)\" data-step=\"\(escapedName)\"><title>\(escapedName)</title>"
                    + rect + title + label + "</g>")
        }
        svg.append("</svg>")
        return svg.joined(separator: "\n")
    }

    /// The graph of a pipeline, each node labelled with its kind (and module), all `pending`-coloured.
    static func render(_ pipeline: Pipeline) -> String {
        var nodes: [String: Node] = [:]
        for step in pipeline.steps { nodes[step.name] = Node(name: step.name, status: "idle", label: kind(step)) }
        return render(steps: shape(pipeline), nodes: nodes)
    }

    /// The steps and their dependencies.
    static func shape(_ pipeline: Pipeline) -> [(name: String, after: [String])] {
        pipeline.steps.map { ($0.name, $0.after.map(\.step)) }
    }

    /// A step's kind, and its module for tasks.
    static func kind(_ step: Step) -> String {
        switch step.kind {
        case .task(let task): "\(step.kind.name) · \(task.module)"
        case .map(let map): "\(step.kind.name) · \(map.task.module)"
        default: step.kind.name
        }
    }
}
