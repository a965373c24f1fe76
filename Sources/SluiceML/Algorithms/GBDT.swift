import SluiceCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Gradient-boosting hyperparameters, named as in XGBoost.
public struct GBDTParameters: Sendable, Codable, Equatable {
    /// `reg:squarederror`, `reg:logistic` or `binary:logistic`.
    public var objective: String = "reg:squarederror"
    public var numRound: Int = 100
    public var maxDepth: Int = 6
    public var eta: Double = 0.3
    public var minChildWeight: Double = 1
    public var lambda: Double = 1
    public var gamma: Double = 0
    public var subsample: Double = 1
    public var colsampleBytree: Double = 1
    public var maxBin: Int = 256
    /// Stop when the validation metric has not improved for this many rounds (needs a validation set).
    public var earlyStoppingRounds: Int?
    public var seed: UInt64 = 0
    public var threads: Int = defaultThreadCount

    public init() {}

    /// Reads XGBoost-named options (numbers may arrive as strings, as SageMaker hyperparameters do).
    public init(options: [String: String]) throws(MLError) {
        func number(_ keys: String...) throws(MLError) -> Double? {
            guard let key = keys.first(where: { options[$0] != nil }), let text = options[key] else { return nil }
            guard let value = parseNumber(text) else {
                throw MLError(.invalidOption, "option \(key) must be a number, got '\(text)'", column: key)
            }
            return value
        }
        if let objective = options["objective"] {
            guard ["reg:squarederror", "reg:logistic", "binary:logistic"].contains(objective) else {
                throw MLError(
                    .invalidOption,
                    "objective '\(objective)' is not supported; use reg:squarederror, reg:logistic or binary:logistic")
            }
            self.objective = objective
        }
        if let v = try number("num_round", "n_estimators") { numRound = Int(v) }
        if let v = try number("max_depth") { maxDepth = Int(v) }
        if let v = try number("eta", "learning_rate") { eta = v }
        if let v = try number("min_child_weight") { minChildWeight = v }
        if let v = try number("lambda", "reg_lambda") { lambda = v }
        if let v = try number("gamma") { gamma = v }
        if let v = try number("subsample") { subsample = v }
        if let v = try number("colsample_bytree") { colsampleBytree = v }
        if let v = try number("max_bin") { maxBin = min(256, max(2, Int(v))) }
        if let v = try number("early_stopping_rounds") { earlyStoppingRounds = Int(v) }
        if let v = try number("seed") { seed = UInt64(v) }
        guard numRound > 0, maxDepth > 0, maxDepth <= 20, eta > 0, subsample > 0, subsample <= 1,
            colsampleBytree > 0, colsampleBytree <= 1
        else {
            throw MLError(
                .invalidOption,
                "num_round and max_depth (≤ 20) must be positive, eta > 0, subsample and colsample_bytree in (0, 1]")
        }
    }

    var isLogistic: Bool { objective != "reg:squarederror" }
}

/// One regression tree in flat arrays; a node is a leaf when `left[i] < 0`.
public struct Tree: Sendable, Codable, Equatable {
    public var feature: [Int32] = []
    /// Go left when x ≤ threshold (or x is missing).
    public var threshold: [Double] = []
    public var left: [Int32] = []
    public var right: [Int32] = []
    public var value: [Double] = []
    /// Per node, whether a missing value goes right (imported XGBoost trees); nil: always left.
    public var missingRight: [Bool]?

    /// Edges on the longest root-to-leaf path.
    var depth: Int {
        var best = 0
        var stack = [(0, 0)]
        while let (node, level) = stack.popLast() {
            if left[node] < 0 {
                best = max(best, level)
            } else {
                stack.append((Int(left[node]), level + 1))
                stack.append((Int(right[node]), level + 1))
            }
        }
        return value.isEmpty ? 0 : best
    }

    @inline(__always)
    func leafValue(_ row: UnsafePointer<Double>) -> Double {
        var node = 0
        while left[node] >= 0 {
            let x = row[Int(feature[node])]
            let goLeft = x.isNaN ? missingRight?[node] != true : x <= threshold[node]
            node = Int(goLeft ? left[node] : right[node])
        }
        return value[node]
    }
}

/// A gradient-boosted tree ensemble.
public struct GBDTModel: Sendable, Codable, Equatable {
    public var objective: String
    /// Margin before the first tree (logit of the base rate for logistic objectives).
    public var baseMargin: Double
    public var trees: [Tree]

    /// Raw margins (sums of leaf values) for every row.
    public func predictMargin(_ x: Matrix) -> [Double] {
        var out = [Double](repeating: baseMargin, count: x.rows)
        let d = x.cols
        // A few rows (serving) walk the trees directly; many rows go through the complete-tree layout.
        let forest = x.rows >= ForestLayout.minimumRows ? ForestLayout(trees, cols: d) : nil
        // Many parts of ≥ 8,192 rows, taken by the threads as they come free (a slowed thread holds no one up).
        let parts = chunkRanges(x.rows, parts: x.rows > 10_000 ? min(64, max(defaultThreadCount, x.rows >> 13)) : 1)
        out.withUnsafeMutableBufferPointer { o in
            let o = UncheckedBox(o)
            x.values.withUnsafeBufferPointer { xv in
                let xv = UncheckedBox(xv)
                parallelFor(parts.count) { t in
                    let rows = xv.value.baseAddress!
                    let margins = o.value.baseAddress!
                    if let forest {
                        forest.addMargins(rows: rows, cols: d, range: parts[t], into: margins)
                    } else {
                        for i in parts[t] {
                            for tree in trees { margins[i] += tree.leafValue(rows + i * d) }
                        }
                    }
                }
            }
        }
        return out
    }

    /// Predictions: probabilities for logistic objectives, values for squared error.
    public func predict(_ x: Matrix) -> [Double] {
        let margin = predictMargin(x)
        return objective == "reg:squarederror" ? margin : margin.map(sigmoid)
    }
}

/// Histogram gradient boosting: features pre-binned to ≤ 256 quantile bins (UInt8), depth-wise growth over rows
/// that never move (see `TreeBuilder`), histogram subtraction, 2 threads.
public enum GBDT {
    public static func fit(
        _ x: Matrix, _ y: [Double], parameters: GBDTParameters = GBDTParameters(),
        validation: (x: Matrix, y: [Double])? = nil
    ) throws(MLError) -> GBDTModel {
        guard x.rows > 0 else { throw MLError(.emptyFile, "no training rows") }
        guard x.rows == y.count else { throw MLError(.shapeMismatch, "\(x.rows) feature rows but \(y.count) labels") }
        if let i = y.firstIndex(where: { !$0.isFinite }) {
            throw MLError(.nonFinite, "training row \(i + 1): the label is missing or not finite")
        }
        if parameters.isLogistic, let i = y.firstIndex(where: { $0 < 0 || $0 > 1 }) {
            throw MLError(
                .invalidOption, "training row \(i + 1): label \(y[i]) is outside [0, 1] for \(parameters.objective)")
        }
        let n = x.rows
        let d = x.cols
        let cuts = (0..<d).map { binEdges(x, feature: $0, maxBin: parameters.maxBin) }
        let bins = binMatrix(x, cuts: cuts)
        let mean = y.reduce(0, +) / Double(n)
        let baseMargin = parameters.isLogistic ? log(max(1e-12, mean) / max(1e-12, 1 - mean)) : mean
        var margin = [Double](repeating: baseMargin, count: n)
        var gradHess = [Float](repeating: 0, count: 2 * n)
        var positions = [Int32](repeating: 0, count: n)
        var trees: [Tree] = []
        var rng = SplitMix64(seed: parameters.seed)
        var validationMargin = validation.map { [Double](repeating: baseMargin, count: $0.x.rows) }
        var bestLoss = Double.infinity
        var bestRounds = 0
        // One parallel pass per round adds the last tree's leaves to the margins and takes the next gradients.
        let parts = chunkRanges(n, parts: n > 20_000 ? parameters.threads : 1)
        let logistic = parameters.isLogistic
        func update(adding tree: Tree?) {
            margin.withUnsafeMutableBufferPointer { m in
                gradHess.withUnsafeMutableBufferPointer { gh in
                    positions.withUnsafeBufferPointer { pos in
                        let (m, gh, pos) = (UncheckedBox(m), UncheckedBox(gh), UncheckedBox(pos))
                        parallelFor(parts.count) { t in
                            for i in parts[t] {
                                if let tree { m.value[i] += tree.value[Int(pos.value[i])] }
                                if logistic {
                                    let p = sigmoid(m.value[i])
                                    gh.value[2 * i] = Float(p - y[i])
                                    gh.value[2 * i + 1] = Float(max(p * (1 - p), 1e-16))
                                } else {
                                    gh.value[2 * i] = Float(m.value[i] - y[i])
                                    gh.value[2 * i + 1] = 1
                                }
                            }
                        }
                    }
                }
            }
        }
        update(adding: nil)
        for round in 0..<parameters.numRound {
            let sample = parameters.sampleRound(rows: n, features: d, rng: &rng)
            if let kept = sample.rows {
                for i in 0..<n where !kept[i] {
                    gradHess[2 * i] = 0
                    gradHess[2 * i + 1] = 0
                }
            }
            let tree = TreeBuilder(bins: bins, d: d, cuts: cuts, parameters: parameters, features: sample.features)
                .build(gradHess: gradHess, positions: &positions)
            update(adding: tree)
            trees.append(tree)
            if let validation, let rounds = parameters.earlyStoppingRounds {
                validation.x.values.withUnsafeBufferPointer { xv in
                    for i in 0..<validation.x.rows { validationMargin![i] += tree.leafValue(xv.baseAddress! + i * d) }
                }
                let loss =
                    parameters.isLogistic
                    ? Metrics.logLoss(validation.y, validationMargin!.map(sigmoid))
                    : Metrics.mse(validation.y, validationMargin!)
                if loss < bestLoss {
                    bestLoss = loss
                    bestRounds = round + 1
                } else if round + 1 - bestRounds >= rounds {
                    trees.removeLast(trees.count - bestRounds)
                    break
                }
            }
        }
        return GBDTModel(objective: parameters.objective, baseMargin: baseMargin, trees: trees)
    }

    /// Upper bin edges from quantiles of the feature's non-missing values (at most `maxBin − 1` bins + missing).
    static func binEdges(_ x: Matrix, feature j: Int, maxBin: Int) -> [Double] {
        let n = x.rows
        let step = max(1, n / 200_000)
        var sample: [Double] = []
        sample.reserveCapacity(n / step + 1)
        var i = 0
        while i < n {
            let v = x.values[i * x.cols + j]
            if !v.isNaN { sample.append(v) }
            i += step
        }
        sample.sort()
        var distinct: [Double] = []
        for v in sample where distinct.last != v { distinct.append(v) }
        let slots = maxBin - 1  // bin 0 holds missing values
        if distinct.count <= slots {
            // Edges halfway between distinct values; the last edge is +inf.
            var edges = zip(distinct, distinct.dropFirst()).map { ($0 + $1) / 2 }
            edges.append(.infinity)
            return edges
        }
        var edges: [Double] = []
        for k in 1..<slots {
            let v = sample[min(sample.count - 1, k * sample.count / slots)]
            if edges.last != v { edges.append(v) }
        }
        edges.append(.infinity)
        return edges
    }

    /// Row-major UInt8 bin indices (0 = missing, b ≥ 1 means x ≤ edges[b − 1]).
    static func binMatrix(_ x: Matrix, cuts: [[Double]]) -> [UInt8] {
        let n = x.rows
        let d = x.cols
        var bins = [UInt8](repeating: 0, count: n * d)
        bins.withUnsafeMutableBufferPointer { out in
            let out = UncheckedBox(out)
            let parts = chunkRanges(n, parts: n > 10_000 ? defaultThreadCount : 1)
            parallelFor(parts.count) { t in
                for i in parts[t] {
                    for j in 0..<d {
                        let v = x.values[i * d + j]
                        if v.isNaN { continue }
                        let edges = cuts[j]
                        var lo = 0
                        var hi = edges.count - 1
                        while lo < hi {
                            let mid = (lo + hi) / 2
                            if v <= edges[mid] { hi = mid } else { lo = mid + 1 }
                        }
                        out.value[i * d + j] = UInt8(lo + 1)
                    }
                }
            }
        }
        return bins
    }
}

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

    /// A tree fitted to `gradHess`: the gradient of row i at 2i, its hessian at 2i + 1, in single precision as
    /// XGBoost keeps them (histograms sum in double). A row whose hessian is 0 takes no part, which is how
    /// subsampling and bootstrap weights arrive. On return `positions[i]` is the leaf row i falls in.
    func build(gradHess: [Float], positions: inout [Int32]) -> Tree {
        var tree = Tree()
        var splitBins: [UInt8] = []
        func addLeaf(_ g: Double, _ s: Double) -> Int {
            tree.feature.append(-1)
            tree.threshold.append(0)
            tree.left.append(-1)
            tree.right.append(-1)
            tree.value.append(-g / (s + parameters.lambda) * parameters.eta)
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
        tree.value[root] = -g0 / (s0 + parameters.lambda) * parameters.eta
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
        return tree
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
            positions.withUnsafeMutableBufferPointer { pos in
                let (out, pos) = (UncheckedBox(out), UncheckedBox(pos))
                parallelFor(parts.count) { t in
                    var h = [Double](repeating: 0, count: building.count * stride)
                    h.withUnsafeMutableBufferPointer { hv in
                        bins.withUnsafeBufferPointer { bv in
                            gradHess.withUnsafeBufferPointer { gv in
                                tree.feature.withUnsafeBufferPointer { feature in
                                    tree.left.withUnsafeBufferPointer { left in
                                        splitBins.withUnsafeBufferPointer { limit in
                                            slotOf.withUnsafeBufferPointer { slotOf in
                                                let p = pos.value.baseAddress!
                                                let hp = hv.baseAddress!
                                                let gp = gv.baseAddress!
                                                for i in parts[t] {
                                                    let row = bv.baseAddress! + i * d
                                                    var node = Int(p[i])
                                                    let f = Int(feature[node])
                                                    if f >= 0 {
                                                        node = Int(left[node]) + (row[f] <= limit[node] ? 0 : 1)
                                                        p[i] = Int32(node)
                                                    }
                                                    let slot = Int(slotOf[node])
                                                    let s = Double(gp[2 * i + 1])
                                                    if slot < 0 || s == 0 { continue }
                                                    let g = Double(gp[2 * i])
                                                    let base = hp + slot * stride
                                                    for j in 0..<d {
                                                        let cell = base + (j << 9) + (Int(row[j]) << 1)
                                                        cell[0] += g
                                                        cell[1] += s
                                                    }
                                                }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                    out.value[t] = h
                }
            }
        }
        var total = partial[0]
        for other in partial.dropFirst() { for k in total.indices { total[k] += other[k] } }
        return building.indices.map { Array(total[($0 * stride)..<(($0 + 1) * stride)]) }
    }

    func bestSplit(_ h: Histogram, g: Double, s: Double) -> Candidate {
        let lambda = parameters.lambda
        let parentScore = g * g / (s + lambda)
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
                let gain = gl * gl / (hl + lambda) + gr * gr / (hr + lambda) - parentScore
                if gain > best.gain + 1e-12 {
                    best = Candidate(gain: gain, feature: j, bin: b, leftGrad: gl, leftHess: hl)
                }
            }
        }
        return best
    }
}

extension GBDTParameters {
    /// One boosting round's sample: which rows `subsample` keeps (nil: all of them) and the features
    /// `colsample_bytree` keeps.
    func sampleRound(rows n: Int, features d: Int, rng: inout SplitMix64) -> (rows: [Bool]?, features: [Int]) {
        var rows: [Bool]?
        if subsample < 1 {
            rows = (0..<n).map { _ in rng.nextUnit() < subsample }
        }
        var features = Array(0..<d)
        if colsampleBytree < 1 {
            features.shuffle(using: &rng)
            features = Array(features.prefix(max(1, Int((Double(d) * colsampleBytree).rounded()))))
        }
        return (rows, features)
    }
}
