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
    /// L1 regularisation of leaf weights (XGBoost's `alpha`).
    public var alpha: Double = 0
    /// Weight of the rows labelled 1 under logistic objectives (XGBoost's `scale_pos_weight`).
    public var scalePosWeight: Double = 1
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
        if let v = try number("alpha", "reg_alpha") { alpha = v }
        if let v = try number("scale_pos_weight") { scalePosWeight = v }
        if let v = try number("gamma") { gamma = v }
        if let v = try number("subsample") { subsample = v }
        if let v = try number("colsample_bytree") { colsampleBytree = v }
        if let v = try number("max_bin") { maxBin = min(256, max(2, Int(v))) }
        if let v = try number("early_stopping_rounds") { earlyStoppingRounds = Int(v) }
        if let v = try number("seed") { seed = UInt64(v) }
        guard numRound > 0, maxDepth > 0, maxDepth <= 20, eta > 0, subsample > 0, subsample <= 1,
            colsampleBytree > 0, colsampleBytree <= 1, lambda >= 0, alpha >= 0, scalePosWeight > 0
        else {
            throw MLError(
                .invalidOption,
                "num_round and max_depth (≤ 20) must be positive, eta > 0, subsample and colsample_bytree in (0, 1], "
                    + "lambda and alpha ≥ 0, scale_pos_weight > 0")
        }
    }

    var isLogistic: Bool { objective != "reg:squarederror" }

    /// `g` shrunk towards 0 by `alpha` (XGBoost's ThresholdL1).
    @inline(__always)
    func shrunk(_ g: Double) -> Double { g > alpha ? g - alpha : g < -alpha ? g + alpha : 0 }

    /// A leaf's weight for gradient sum `g` and hessian sum `h`, before the learning rate.
    @inline(__always)
    func leafWeight(_ g: Double, _ h: Double) -> Double { -shrunk(g) / (h + lambda) }

    /// How much a node with sums `g`, `h` lowers the regularised loss (twice the objective reduction).
    @inline(__always)
    func score(_ g: Double, _ h: Double) -> Double {
        let t = shrunk(g)
        return t * t / (h + lambda)
    }
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
/// that never move (see `TreeBuilder`), histogram subtraction, `threads` threads.
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
        let (cuts, bins) = binned(x, maxBin: parameters.maxBin)
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
        // One parallel pass per round moves each row to its leaf of the last tree (the tree builder leaves that
        // step of the last level to this pass), adds the leaf to the margin and takes the next gradients. Logistic
        // objectives keep e^−margin per row too, multiplied by e^−leaf (one exp per leaf, not per row): the relative
        // rounding that builds up over the rounds (about 1e-14 after 100) is far below the single precision the
        // gradients are kept in. Where it leaves the normal range it is taken afresh from the margin.
        let parts = chunkRanges(n, parts: n > 20_000 ? parameters.threads : 1)
        let logistic = parameters.isLogistic
        let positiveWeight = parameters.scalePosWeight
        var decay = [Double](repeating: logistic ? exp(-baseMargin) : 0, count: logistic ? n : 0)
        func update(adding grown: TreeBuilder.Grown?) {
            let positions = positions
            let factors = logistic ? (grown?.tree.value ?? []).map { exp(-$0) } : []
            margin.withUnsafeMutableBufferPointer { m in
                gradHess.withUnsafeMutableBufferPointer { gh in
                    decay.withUnsafeMutableBufferPointer { e in
                        let (m, gh, e) = (UncheckedBox(m), UncheckedBox(gh), UncheckedBox(e))
                        parallelFor(parts.count) { t in
                            for i in parts[t] {
                                let leaf = grown.map { $0.leaf(Int(positions[i]), bins: bins, row: i * d) }
                                if let grown, let leaf { m.value[i] += grown.tree.value[leaf] }
                                if logistic {
                                    var decayed = e.value[i]
                                    if let leaf { decayed *= factors[leaf] }
                                    if !(decayed > 1e-300 && decayed < 1e300) { decayed = exp(-m.value[i]) }
                                    e.value[i] = decayed
                                    let p = 1 / (1 + decayed)
                                    let w = y[i] == 1 ? positiveWeight : 1
                                    gh.value[2 * i] = Float((p - y[i]) * w)
                                    gh.value[2 * i + 1] = Float(max(p * (1 - p), 1e-16) * w)
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
            let grown = TreeBuilder(bins: bins, d: d, cuts: cuts, parameters: parameters, features: sample.features)
                .grow(gradHess: gradHess, positions: &positions, routingLastLevel: false)
            update(adding: grown)
            let tree = grown.tree
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

    /// Each feature's bin edges (in parallel, one feature per task) and the row-major bin matrix.
    static func binned(_ x: Matrix, maxBin: Int) -> (cuts: [[Double]], bins: [UInt8]) {
        var cuts = [[Double]](repeating: [], count: x.cols)
        cuts.withUnsafeMutableBufferPointer { out in
            let out = UncheckedBox(out)
            parallelFor(x.cols) { j in out.value[j] = binEdges(x, feature: j, maxBin: maxBin) }
        }
        return (cuts, binMatrix(x, cuts: cuts))
    }

    /// Row-major UInt8 bin indices (0 = missing, b ≥ 1 means x ≤ edges[b − 1]).
    static func binMatrix(_ x: Matrix, cuts: [[Double]]) -> [UInt8] {
        let n = x.rows
        let d = x.cols
        // Each feature's edges padded with +inf to 256 (a feature has at most 255), so eight branch-free halvings
        // find any value's bin: the first edge ≥ the value, as the last edge is +inf.
        var padded = [Double](repeating: .infinity, count: d << 8)
        for j in 0..<d {
            for (b, edge) in cuts[j].enumerated() { padded[(j << 8) + b] = edge }
        }
        var bins = [UInt8](repeating: 0, count: n * d)
        bins.withUnsafeMutableBufferPointer { out in
            x.values.withUnsafeBufferPointer { values in
                padded.withUnsafeBufferPointer { padded in
                    let pointers = UncheckedBox((out.baseAddress!, values.baseAddress!, padded.baseAddress!))
                    let parts = chunkRanges(n, parts: n > 10_000 ? defaultThreadCount : 1)
                    parallelFor(parts.count) { t in
                        let (out, values, padded) = pointers.value
                        for i in parts[t] {
                            for j in 0..<d {
                                let v = values[i * d + j]
                                if v.isNaN { continue }
                                let edges = padded + (j << 8)
                                var below = 0  // edges below v
                                var step = 128
                                repeat {
                                    // A multiply by the comparison's 0 or 1, as a select compiles to a branch here.
                                    let above = unsafeBitCast(v > edges[below &+ step &- 1], to: UInt8.self)
                                    below &+= step &* Int(above)
                                    step &>>= 1
                                } while step > 0
                                out[i * d + j] = UInt8(truncatingIfNeeded: below &+ 1)
                            }
                        }
                    }
                }
            }
        }
        return bins
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
