/// A tree ensemble laid out for batch prediction: every tree padded to a complete binary tree of the ensemble's
/// depth (children of node i at 2i + 1 and 2i + 2), so a row's walk is `depth` branch-free steps and a block of
/// rows walks each tree level by level with no dependency between rows.
struct ForestLayout {
    struct Node {
        /// Go right when x > threshold; padding nodes hold +inf (always left).
        var threshold: Double
        var feature: Int32
        /// 1 when a missing value goes right.
        var missingRight: Int32
    }

    /// Fewer rows than this walk the trees directly (building the layout costs about one pass over the nodes).
    static let minimumRows = 256
    /// Deeper ensembles keep the direct walk (the padded layout grows as 2^depth).
    static let maximumDepth = 12
    /// Rows per block: the block's rows and one tree's nodes stay in the L1 cache.
    static let blockRows = 256

    let depth: Int
    let internalCount: Int
    let leafCount: Int
    let treeCount: Int
    /// `internalCount` nodes per tree.
    private(set) var nodes: [Node] = []
    /// `leafCount` values per tree.
    private(set) var leaves: [Double] = []
    /// Whether any node sends missing values right (blocks holding a NaN then take the careful step).
    private(set) var anyMissingRight = false

    /// Nil when every tree is a single leaf or the ensemble is too deep for the padded layout.
    init?(_ trees: [Tree]) {
        let depth = trees.map(\.depth).max() ?? 0
        guard depth > 0, depth <= Self.maximumDepth else { return nil }
        self.depth = depth
        internalCount = (1 << depth) - 1
        leafCount = 1 << depth
        treeCount = trees.count
        nodes.reserveCapacity(internalCount * trees.count)
        leaves.reserveCapacity(leafCount * trees.count)
        let padding = Node(threshold: .infinity, feature: 0, missingRight: 0)
        for tree in trees {
            let nodeBase = nodes.count
            let leafBase = leaves.count
            nodes.append(contentsOf: repeatElement(padding, count: internalCount))
            leaves.append(contentsOf: repeatElement(0, count: leafCount))
            // (source node, position in the complete layout, level)
            var stack = [(0, 0, 0)]
            while let (source, position, level) = stack.popLast() {
                if level == depth {
                    leaves[leafBase + position - internalCount] = tree.value[source]
                } else if tree.left[source] < 0 {
                    // A leaf above the last level: padding sends every row left down to a copy of its value.
                    stack.append((source, 2 * position + 1, level + 1))
                } else {
                    let right = tree.missingRight?[source] == true
                    anyMissingRight = anyMissingRight || right
                    nodes[nodeBase + position] = Node(
                        threshold: tree.threshold[source], feature: tree.feature[source], missingRight: right ? 1 : 0)
                    stack.append((Int(tree.left[source]), 2 * position + 1, level + 1))
                    stack.append((Int(tree.right[source]), 2 * position + 2, level + 1))
                }
            }
        }
    }

    /// Adds every tree's leaf value to `margins[i]` for the rows in `range` of the row-major `rows` (`cols` wide).
    func addMargins(
        rows: UnsafePointer<Double>, cols: Int, range: Range<Int>, into margins: UnsafeMutablePointer<Double>
    ) {
        withUnsafeTemporaryAllocation(of: Int32.self, capacity: Self.blockRows) { position in
            let position = position.baseAddress!
            nodes.withUnsafeBufferPointer { nodeBuffer in
                leaves.withUnsafeBufferPointer { leafBuffer in
                    var start = range.lowerBound
                    while start < range.upperBound {
                        let count = min(Self.blockRows, range.upperBound - start)
                        let block = rows + start * cols
                        let careful = anyMissingRight && (0..<count * cols).contains { block[$0].isNaN }
                        for t in 0..<treeCount {
                            let tree = nodeBuffer.baseAddress! + t * internalCount
                            let values = leafBuffer.baseAddress! + t * leafCount - internalCount
                            for r in 0..<count { position[r] = 0 }
                            if careful {
                                for _ in 0..<depth {
                                    for r in 0..<count {
                                        let k = Int(position[r])
                                        let node = tree[k]
                                        let x = block[r * cols + Int(node.feature)]
                                        let right = x.isNaN ? node.missingRight != 0 : x > node.threshold
                                        position[r] = Int32(truncatingIfNeeded: 2 * k + (right ? 2 : 1))
                                    }
                                }
                            } else {
                                for _ in 0..<depth {
                                    for r in 0..<count {
                                        // NaN compares false: missing goes left, as every node here sends it.
                                        let k = Int(position[r])
                                        let node = tree[k]
                                        let right = block[r * cols + Int(node.feature)] > node.threshold
                                        position[r] = Int32(truncatingIfNeeded: 2 * k + 1 + (right ? 1 : 0))
                                    }
                                }
                            }
                            for r in 0..<count { margins[start + r] += values[Int(position[r])] }
                        }
                        start += count
                    }
                }
            }
        }
    }
}
