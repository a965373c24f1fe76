/// A directed graph over named nodes, kept in insertion order so every answer is deterministic.
public struct DependencyGraph: Hashable, Sendable {
    public private(set) var nodes: [String]
    private var successors: [String: [String]] = [:]
    private var predecessors: [String: [String]] = [:]

    public init(nodes: [String] = []) {
        self.nodes = []
        for node in nodes { addNode(node) }
    }

    public mutating func addNode(_ node: String) {
        guard successors[node] == nil else { return }
        nodes.append(node)
        successors[node] = []
        predecessors[node] = []
    }

    public mutating func addEdge(from source: String, to target: String) {
        addNode(source)
        addNode(target)
        guard !successors[source, default: []].contains(target) else { return }
        successors[source, default: []].append(target)
        predecessors[target, default: []].append(source)
    }

    public func successors(of node: String) -> [String] { successors[node] ?? [] }
    public func predecessors(of node: String) -> [String] { predecessors[node] ?? [] }

    /// Nodes in an order where every node comes after all of its predecessors, or nil when there is a cycle.
    public func topologicalOrder() -> [String]? {
        var remaining = Dictionary(uniqueKeysWithValues: nodes.map { ($0, predecessors(of: $0).count) })
        var ready = nodes.filter { remaining[$0] == 0 }
        var order: [String] = []
        order.reserveCapacity(nodes.count)
        var head = 0
        while head < ready.count {
            let node = ready[head]
            head += 1
            order.append(node)
            for next in successors(of: node) {
                remaining[next]! -= 1
                if remaining[next] == 0 { ready.append(next) }
            }
        }
        return order.count == nodes.count ? order : nil
    }

    /// Every elementary cycle found by a depth-first search, each as the path that closes on its first node
    /// (`[A, B, C]` means A → B → C → A). Each node is reported in at most one cycle.
    public func cycles() -> [[String]] {
        enum Mark { case visiting, done }
        var marks: [String: Mark] = [:]
        var stack: [String] = []
        var found: [[String]] = []

        func visit(_ node: String) {
            marks[node] = .visiting
            stack.append(node)
            for next in successors(of: node) {
                switch marks[next] {
                case .visiting:
                    if let start = stack.firstIndex(of: next) { found.append(Array(stack[start...])) }
                case .done:
                    continue
                case nil:
                    visit(next)
                }
            }
            stack.removeLast()
            marks[node] = .done
        }

        for node in nodes where marks[node] == nil { visit(node) }
        return found
    }

    /// Every node reachable from `roots` (the roots included).
    public func reachable(from roots: some Sequence<String>) -> Set<String> {
        var seen = Set<String>()
        var pending = Array(roots)
        while let node = pending.popLast() {
            guard seen.insert(node).inserted else { continue }
            pending.append(contentsOf: successors(of: node))
        }
        return seen
    }

    /// Every node from which `node` can be reached (its transitive predecessors), `node` excluded.
    public func ancestors(of node: String) -> Set<String> {
        var seen = Set<String>()
        var pending = predecessors(of: node)
        while let next = pending.popLast() {
            guard seen.insert(next).inserted else { continue }
            pending.append(contentsOf: predecessors(of: next))
        }
        return seen
    }
}
