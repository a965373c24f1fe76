import SluiceCore

/// Random forest hyperparameters (scikit-learn's names where they exist).
public struct RandomForestParameters: Sendable, Codable, Equatable {
    public var nEstimators: Int = 100
    public var maxDepth: Int = 12
    public var minSamplesLeaf: Int = 1
    /// Features drawn per tree: √d when nil.
    public var maxFeatures: Int?
    /// Duplicate random minority-class rows until both classes have as many rows (binary labels only).
    public var oversample: Bool = false
    public var seed: UInt64 = 0

    public init() {}
}

/// Random forest for regression and binary classification: bootstrap rows, a random feature subset per tree,
/// variance-reduction splits on the histogram tree builder (for 0/1 labels this ranks splits as Gini does),
/// prediction = mean of the trees (a class-1 probability for 0/1 labels).
///
/// Differences from scikit-learn: features are drawn per tree, not per split; depth is capped (`maxDepth`).
public enum RandomForest {
    public static func fit(_ x: Matrix, _ y: [Double], parameters: RandomForestParameters = RandomForestParameters())
        throws(MLError) -> GBDTModel
    {
        try LinearRegression.checkInputs(x, y)
        guard parameters.nEstimators > 0, parameters.maxDepth > 0, parameters.maxDepth <= 20 else {
            throw MLError(.invalidOption, "n_estimators must be positive and max_depth between 1 and 20")
        }
        let n = x.rows
        let d = x.cols
        var rng = SplitMix64(seed: parameters.seed)
        var pool = Array(0..<n)
        if parameters.oversample {
            let positives = pool.filter { y[$0] == 1 }
            let negatives = pool.filter { y[$0] == 0 }
            guard positives.count + negatives.count == n else {
                throw MLError(.invalidOption, "oversample needs 0/1 labels")
            }
            let (minority, majority) =
                positives.count < negatives.count ? (positives, negatives) : (negatives, positives)
            if !minority.isEmpty {
                for _ in 0..<(majority.count - minority.count) {
                    pool.append(minority[Int(rng.next() % UInt64(minority.count))])
                }
            }
        }
        let (cuts, bins) = GBDT.binned(x, maxBin: 256)
        var tree = GBDTParameters()
        tree.maxDepth = parameters.maxDepth
        tree.eta = 1 / Double(parameters.nEstimators)
        tree.lambda = 0
        tree.minChildWeight = Double(parameters.minSamplesLeaf)
        let perTree = min(d, max(1, parameters.maxFeatures ?? Int(Double(d).squareRoot().rounded())))
        var trees: [Tree] = []
        var gradHess = [Float](repeating: 0, count: 2 * n)
        var positions = [Int32](repeating: 0, count: n)
        for _ in 0..<parameters.nEstimators {
            // A bootstrap sample as weights: a row drawn c times has gradient −c·y and hessian c.
            for i in gradHess.indices { gradHess[i] = 0 }
            for _ in 0..<pool.count {
                let i = pool[Int(rng.next() % UInt64(pool.count))]
                gradHess[2 * i] -= Float(y[i])
                gradHess[2 * i + 1] += 1
            }
            var features = Array(0..<d)
            features.shuffle(using: &rng)
            let builder = TreeBuilder(
                bins: bins, d: d, cuts: cuts, parameters: tree, features: Array(features.prefix(perTree)))
            trees.append(builder.build(gradHess: gradHess, positions: &positions))
        }
        return GBDTModel(objective: "reg:squarederror", baseMargin: 0, trees: trees)
    }
}
