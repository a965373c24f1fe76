/// Grows one tree depth-wise over binned rows that never move: `positions[i]` is the node row i sits in. Each level
/// is one sequential pass over all rows, split into contiguous parts for the threads, that routes every row of a
/// node split on the level before to its child and adds it to the histogram of that child if the child is the
/// smaller of its pair; the larger child's histogram is its parent's minus the smaller one's. Sequential passes
/// keep the caches and the prefetcher busy where gathering a node's rows by index would miss on every row.
struct TreeBuilder {
    /// Row-major bin indices, `d` per row (see `GBDT.binMatrix`).
    let bins: [UInt8]
    let d: Int
    let cuts: [[Double]]
    let parameters: GBDTParameters
    /// The features a split may use (`colsample_bytree`).
    let features: [Int]

    /// Per node: (gradient, hessian) for every (feature, bin), 256 bins per feature.
    typealias Histogram = [Double]

    struct Candidate {
        var gain = 0.0
        var feature = -1
        var bin = 0
        var leftGrad = 0.0
        var leftHess = 0.0
    }

    /// A node of the level being split, with its totals and histogram.
    struct Node {
        var index: Int
        var grad: Double
        var hess: Double
        var histogram: Histogram
    }

    /// A grown tree and, per node, the bin up to which its split sends rows left.
    struct Grown {
        var tree: Tree
        var splitBins: [UInt8]

        /// The leaf of the row starting at `bins[row]` that `grow` left in `node`, taking the last level's split
        /// where `grow` did not.
        @inline(__always)
        func leaf(_ node: Int, bins: [UInt8], row: Int) -> Int {
            let f = Int(tree.feature[node])
            guard f >= 0 else { return node }
            return Int(tree.left[node]) + (bins[row + f] <= splitBins[node] ? 0 : 1)
        }
    }

    /// A tree fitted to `gradHess`: the gradient of row i at 2i, its hessian at 2i + 1, in single precision as
    /// XGBoost keeps them (histograms sum in double). A row whose hessian is 0 takes no part, which is how
    /// subsampling and bootstrap weights arrive. On return `positions[i]` is the leaf row i falls in.
    func build(gradHess: [Float], positions: inout [Int32]) -> Tree {
        grow(gradHess: gradHess, positions: &positions, routingLastLevel: true).tree
    }

    /// `build`, except that without `routingLastLevel` the rows of the nodes split on the last level are not moved
    /// to their leaves (saving a pass over all rows): the caller takes that step in its own pass over the rows
    /// (see `GBDT.fit`'s `update`).
    func grow(gradHess: [Float], positions: inout [Int32], routingLastLevel: Bool) -> Grown {
        var tree = Tree()
        var splitBins: [UInt8] = []
        func addLeaf(_ g: Double, _ s: Double) -> Int {
            tree.feature.append(-1)
            tree.threshold.append(0)
            tree.left.append(-1)
            tree.right.append(-1)
            tree.value.append(parameters.leafWeight(g, s) * parameters.eta)
            splitBins.append(0)
            return tree.value.count - 1
        }
        for i in positions.indices { positions[i] = 0 }
        let root = addLeaf(0, 0)
        let rootHistogram = pass(gradHess, &positions, tree, splitBins, building: [root])[0]
        // Every row falls in exactly one bin of any feature, so feature 0's bins sum to the node's totals.
        var g0 = 0.0
        var s0 = 0.0
        for b in 0..<256 {
            g0 += rootHistogram[b << 1]
            s0 += rootHistogram[(b << 1) + 1]
        }
        tree.value[root] = parameters.leafWeight(g0, s0) * parameters.eta
        var level = [Node(index: root, grad: g0, hess: s0, histogram: rootHistogram)]
        for depth in 0..<parameters.maxDepth {
            var split: [(parent: Node, left: Node, right: Node, smallIsLeft: Bool)] = []
            for node in level {
                let best = bestSplit(node.histogram, g: node.grad, s: node.hess)
                guard best.feature >= 0, best.gain > parameters.gamma else { continue }
                let j = best.feature
                let (gl, hl) = (best.leftGrad, best.leftHess)
                let (gr, hr) = (node.grad - gl, node.hess - hl)
                let leftIndex = addLeaf(gl, hl)
                let rightIndex = addLeaf(gr, hr)
                tree.feature[node.index] = Int32(j)
                // Bin b (0-based in bestSplit) sends missing values and bins 1...b left: x ≤ cuts[j][b − 1].
                tree.threshold[node.index] = best.bin == 0 ? -.infinity : cuts[j][best.bin - 1]
                tree.left[node.index] = Int32(leftIndex)
                tree.right[node.index] = Int32(rightIndex)
                splitBins[node.index] = UInt8(best.bin)
                // The hessian stands in for the row count, which the pass has not counted yet.
                split.append(
                    (
                        node, Node(index: leftIndex, grad: gl, hess: hl, histogram: []),
                        Node(index: rightIndex, grad: gr, hess: hr, histogram: []), hl <= hr
                    ))
            }
            if split.isEmpty { break }
            // Children at the depth limit are leaves: route the rows, build no histograms.
            let leavesNext = depth + 1 == parameters.maxDepth
            if leavesNext && !routingLastLevel { break }
            let built = pass(
                gradHess, &positions, tree, splitBins,
                building: leavesNext ? [] : split.map { $0.smallIsLeft ? $0.left.index : $0.right.index })
            if leavesNext { break }
            level = []
            for (k, var pair) in split.enumerated() {
                let small = built[k]
                var large = pair.parent.histogram
                for b in large.indices { large[b] -= small[b] }
                pair.left.histogram = pair.smallIsLeft ? small : large
                pair.right.histogram = pair.smallIsLeft ? large : small
                level += [pair.left, pair.right]
            }
        }
        return Grown(tree: tree, splitBins: splitBins)
    }

    /// One pass over all rows: moves the rows of every node split since the last pass to its child, and returns
    /// the histogram of each node in `building`, in that order.
    private func pass(
        _ gradHess: [Float], _ positions: inout [Int32], _ tree: Tree, _ splitBins: [UInt8], building: [Int]
    ) -> [Histogram] {
        let n = positions.count
        let d = self.d
        let stride = d << 9
        var slotOf = [Int32](repeating: -1, count: tree.value.count)
        for (slot, node) in building.enumerated() { slotOf[node] = Int32(slot) }
        let parts = chunkRanges(n, parts: n > 20_000 ? parameters.threads : 1)
        var partial = [[Double]](repeating: [], count: parts.count)
        partial.withUnsafeMutableBufferPointer { out in
            positions.withUnsafeMutableBufferPointer { positions in
                bins.withUnsafeBufferPointer { bins in
                    gradHess.withUnsafeBufferPointer { gradHess in
                        tree.feature.withUnsafeBufferPointer { feature in
                            tree.left.withUnsafeBufferPointer { left in
                                splitBins.withUnsafeBufferPointer { limit in
                                    slotOf.withUnsafeBufferPointer { slotOf in
                                        let rows = RowPass(
                                            d: d, positions: positions.baseAddress!, bins: bins.baseAddress!,
                                            gradHess: gradHess.baseAddress!, feature: feature.baseAddress!,
                                            left: left.baseAddress!, limit: limit.baseAddress!,
                                            slotOf: slotOf.baseAddress!)
                                        let shared = UncheckedBox((out.baseAddress!, rows))
                                        parallelFor(parts.count) { t in
                                            let (out, rows) = shared.value
                                            out[t] = rows.histograms(parts[t], count: building.count)
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        var total = partial[0]
        for other in partial.dropFirst() { for k in total.indices { total[k] += other[k] } }
        return building.indices.map { Array(total[($0 * stride)..<(($0 + 1) * stride)]) }
    }

    func bestSplit(_ h: Histogram, g: Double, s: Double) -> Candidate {
        let parentScore = parameters.score(g, s)
        var best = Candidate()
        for j in features {
            // Missing values (bin 0) go left with the lowest bins.
            var gl = 0.0
            var hl = 0.0
            for b in 0..<cuts[j].count {
                gl += h[(j << 9) + (b << 1)]
                hl += h[(j << 9) + (b << 1) + 1]
                let gr = g - gl
                let hr = s - hl
                if hl < parameters.minChildWeight || hr < parameters.minChildWeight { continue }
                let gain = parameters.score(gl, hl) + parameters.score(gr, hr) - parentScore
                if gain > best.gain + 1e-12 {
                    best = Candidate(gain: gain, feature: j, bin: b, leftGrad: gl, leftHess: hl)
                }
            }
        }
        return best
    }
}

/// What one pass over the rows reads and writes, as pointers a thread can use on its part of the rows.
private struct RowPass {
    let d: Int
    let positions: UnsafeMutablePointer<Int32>
    /// Row-major bins, gradient pairs, and per node: split feature (−1: leaf), first child, split bin, and the
    /// slot of the histogram being built for it (−1: none).
    let bins: UnsafePointer<UInt8>
    let gradHess: UnsafePointer<Float>
    let feature: UnsafePointer<Int32>
    let left: UnsafePointer<Int32>
    let limit: UnsafePointer<UInt8>
    let slotOf: UnsafePointer<Int32>

    /// Routes `rows` and returns their `count` histograms, one after another. Rows are taken a block at a time:
    /// one loop routes the block and lists the rows of nodes with a histogram (without a branch on each row's node,
    /// which a processor cannot predict when half the rows go to a histogram), the next adds just those.
    func histograms(_ rows: Range<Int>, count: Int) -> [Double] {
        let stride = d << 9
        var h = [Double](repeating: 0, count: count * stride)
        let block = 1024
        var picked = [Int32](repeating: 0, count: block)
        h.withUnsafeMutableBufferPointer { h in
            picked.withUnsafeMutableBufferPointer { picked in
                let (h, picked) = (h.baseAddress!, picked.baseAddress!)
                // The root's pass: every row is in the root, nothing to route.
                if count == 1 && feature[0] < 0 {
                    for i in rows { add(row: i, to: h) }
                    return
                }
                var start = rows.lowerBound
                while start < rows.upperBound {
                    let end = min(start + block, rows.upperBound)
                    var taken = 0
                    for i in start..<end {
                        var node = Int(positions[i])
                        let f = Int(feature[node])
                        if f >= 0 {
                            node = Int(left[node]) + (bins[i * d + f] <= limit[node] ? 0 : 1)
                            positions[i] = Int32(node)
                        }
                        picked[taken] = Int32(truncatingIfNeeded: i)
                        // Counting by the comparison's 0 or 1: the row stays listed only if its node has a slot.
                        taken &+= Int(unsafeBitCast(slotOf[node] >= 0, to: UInt8.self))
                    }
                    for k in 0..<taken {
                        let i = Int(picked[k])
                        add(row: i, to: h + Int(slotOf[Int(positions[i])]) * stride)
                    }
                    start = end
                }
            }
        }
        return h
    }

    /// Adds row i's gradient pair to its bin of every feature (a row whose hessian is 0 adds nothing).
    @inline(__always)
    private func add(row i: Int, to histogram: UnsafeMutablePointer<Double>) {
        let row = bins + i * d
        let g = Double(gradHess[2 * i])
        let s = Double(gradHess[2 * i + 1])
        for j in 0..<d {
            let cell = histogram + (j << 9) + (Int(row[j]) << 1)
            cell[0] += g
            cell[1] += s
        }
    }
}
