/// A tree ensemble laid out for batch prediction: every tree padded to a complete binary tree of the ensemble's
/// depth (children of node i at 2i + 1 and 2i + 2), so a row's walk is `depth` branch-free steps and a block of
/// rows walks each tree level by level with no dependency between rows.
struct ForestLayout {

    /// Fewer rows than this walk the trees directly (building the layout costs about one pass over the nodes).
    static let minimumRows = 256
    /// Deeper ensembles keep the direct walk (the padded layout grows as 2^depth).
    static let maximumDepth = 12
    /// Rows per block: the block's rows and one tree's nodes stay in the L1 cache.
    static let blockRows = 256
    /// Wider rows keep the direct walk (a block is `blockRows × cols` values).
    static let maximumColumns = 1024

    let depth: Int
    let internalCount: Int
    let leafCount: Int
    let treeCount: Int
    /// Per internal node (`internalCount` per tree; separate arrays so that node k's fields are at k × 8 and
    /// k × 4, addressing modes with no extra shift): go right when x > threshold (padding: +inf, always left) …
    private(set) var thresholds: [Double] = []
    /// … reading the feature at this offset in a transposed block (feature × `blockRows`) …
    private(set) var offsets: [Int32] = []
    /// … and sending missing values right when set.
    private(set) var missingRight: [Bool] = []
    /// `leafCount` values per tree.
    private(set) var leaves: [Double] = []
    /// Whether any node sends missing values right (blocks holding a NaN then take the careful step).
    private(set) var anyMissingRight = false

    /// Nil when every tree is a single leaf, the ensemble is too deep for the padded layout, rows are too wide for
    /// a block, or a split reads a feature at or past `cols`.
    init?(_ trees: [Tree], cols: Int) {
        let depth = trees.map(\.depth).max() ?? 0
        guard depth > 0, depth <= Self.maximumDepth, cols <= Self.maximumColumns,
            trees.allSatisfy({ tree in zip(tree.left, tree.feature).allSatisfy { $0 < 0 || $1 < cols } })
        else { return nil }
        self.depth = depth
        internalCount = (1 << depth) - 1
        leafCount = 1 << depth
        treeCount = trees.count
        thresholds = [Double](repeating: .infinity, count: internalCount * trees.count)
        offsets = [Int32](repeating: 0, count: internalCount * trees.count)
        missingRight = [Bool](repeating: false, count: internalCount * trees.count)
        leaves.reserveCapacity(leafCount * trees.count)
        for (t, tree) in trees.enumerated() {
            let nodeBase = t * internalCount
            let leafBase = leaves.count
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
                    thresholds[nodeBase + position] = tree.threshold[source]
                    offsets[nodeBase + position] = tree.feature[source] * Int32(Self.blockRows)
                    missingRight[nodeBase + position] = right
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
        let b = Self.blockRows
        // The block is copied column by column: lane i of a row group reads `p[offset + i]`, one register for all.
        withUnsafeTemporaryAllocation(of: Double.self, capacity: b * cols) { transposed in
            let xt = transposed.baseAddress!
            thresholds.withUnsafeBufferPointer { thresholdBuffer in
                offsets.withUnsafeBufferPointer { offsetBuffer in
                    missingRight.withUnsafeBufferPointer { missingBuffer in
                        leaves.withUnsafeBufferPointer { leafBuffer in
                            var start = range.lowerBound
                            while start < range.upperBound {
                                let count = min(b, range.upperBound - start)
                                var hasMissing = false
                                for r in 0..<count {
                                    let row = rows + (start + r) * cols
                                    for j in 0..<cols {
                                        let v = row[j]
                                        xt[j * b + r] = v
                                        hasMissing = hasMissing || v.isNaN
                                    }
                                }
                                let careful = anyMissingRight && hasMissing
                                for t in 0..<treeCount {
                                    let tree = NodeArrays(
                                        thresholds: thresholdBuffer.baseAddress! + t * internalCount,
                                        offsets: offsetBuffer.baseAddress! + t * internalCount)
                                    let values = leafBuffer.baseAddress! + t * leafCount - internalCount
                                    if careful {
                                        for r in 0..<count {
                                            var k = 0
                                            for _ in 0..<depth {
                                                let x = xt[Int(tree.offsets[k]) + r]
                                                let right =
                                                    x.isNaN
                                                    ? missingBuffer[t * internalCount + k] : x > tree.thresholds[k]
                                                k = 2 * k + (right ? 2 : 1)
                                            }
                                            margins[start + r] += values[k]
                                        }
                                        continue
                                    }
                                    // Sixteen rows walk the tree together: sixteen independent chains of dependent loads.
                                    var r = 0
                                    while r + 16 <= count {
                                        let p = xt + r
                                        var k0 = 0
                                        var k1 = 0
                                        var k2 = 0
                                        var k3 = 0
                                        var k4 = 0
                                        var k5 = 0
                                        var k6 = 0
                                        var k7 = 0
                                        var k8 = 0
                                        var k9 = 0
                                        var k10 = 0
                                        var k11 = 0
                                        var k12 = 0
                                        var k13 = 0
                                        var k14 = 0
                                        var k15 = 0
                                        for _ in 0..<depth {
                                            k0 = Self.step(tree, k0, p, 0)
                                            k1 = Self.step(tree, k1, p, 1)
                                            k2 = Self.step(tree, k2, p, 2)
                                            k3 = Self.step(tree, k3, p, 3)
                                            k4 = Self.step(tree, k4, p, 4)
                                            k5 = Self.step(tree, k5, p, 5)
                                            k6 = Self.step(tree, k6, p, 6)
                                            k7 = Self.step(tree, k7, p, 7)
                                            k8 = Self.step(tree, k8, p, 8)
                                            k9 = Self.step(tree, k9, p, 9)
                                            k10 = Self.step(tree, k10, p, 10)
                                            k11 = Self.step(tree, k11, p, 11)
                                            k12 = Self.step(tree, k12, p, 12)
                                            k13 = Self.step(tree, k13, p, 13)
                                            k14 = Self.step(tree, k14, p, 14)
                                            k15 = Self.step(tree, k15, p, 15)
                                        }
                                        let out = margins + start + r
                                        out[0] += values[k0]
                                        out[1] += values[k1]
                                        out[2] += values[k2]
                                        out[3] += values[k3]
                                        out[4] += values[k4]
                                        out[5] += values[k5]
                                        out[6] += values[k6]
                                        out[7] += values[k7]
                                        out[8] += values[k8]
                                        out[9] += values[k9]
                                        out[10] += values[k10]
                                        out[11] += values[k11]
                                        out[12] += values[k12]
                                        out[13] += values[k13]
                                        out[14] += values[k14]
                                        out[15] += values[k15]
                                        r += 16
                                    }
                                    while r < count {
                                        var k = 0
                                        for _ in 0..<depth { k = Self.step(tree, k, xt, r) }
                                        margins[start + r] += values[k]
                                        r += 1
                                    }
                                }
                                start += count
                            }
                        }
                    }
                }
            }
        }
    }

    /// One level down: right child when x > threshold. NaN compares false and goes left, as every node sends it
    /// when no node of the ensemble sends missing values right.
    @inline(__always)
    private static func step(_ tree: NodeArrays, _ k: Int, _ p: UnsafePointer<Double>, _ lane: Int) -> Int {
        // A Bool's byte as an integer: no select, which the compiler may turn into an unpredictable branch.
        let right = Int(unsafeBitCast(p[Int(tree.offsets[k]) &+ lane] > tree.thresholds[k], to: UInt8.self))
        return 2 &* k &+ 1 &+ right
    }

    /// One tree's internal nodes.
    private struct NodeArrays {
        let thresholds: UnsafePointer<Double>
        let offsets: UnsafePointer<Int32>
    }
}
