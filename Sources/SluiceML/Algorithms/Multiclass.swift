import SluiceCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A classifier over more than two classes: per-class scores turned into probabilities, the most probable
/// class predicted.
@MemberwiseInit
public struct MulticlassModel: Sendable, Codable, Equatable {
    /// The class labels in score order (sorted ascending as seen in training).
    public var classes: [Double]
    /// `softmax` (multinomial logistic regression), `gbdt` (`multi:softprob`) or `random_forest`.
    public var method: String
    /// For `softmax`: row-major class weights (classes × features).
    public var weights: [Double]?
    /// For `softmax`: one intercept per class.
    public var intercepts: [Double]?
    /// For `gbdt`: one margin ensemble per class; for `random_forest`: one class-probability forest per class.
    public var perClass: [GBDTModel]?

    /// Class probabilities for every row (rows × classes; each row sums to 1).
    public func probabilities(_ x: Matrix) -> Matrix {
        let k = classes.count
        var scores = Matrix(rows: x.rows, cols: k)
        if let weights, let intercepts {
            for i in 0..<x.rows {
                for c in 0..<k {
                    var s = intercepts[c]
                    for j in 0..<x.cols { s += weights[c * x.cols + j] * x.values[i * x.cols + j] }
                    scores.values[i * k + c] = s
                }
            }
        } else if let perClass {
            for (c, model) in perClass.enumerated() {
                for (i, v) in model.predictMargin(x).enumerated() { scores.values[i * k + c] = v }
            }
        }
        if method == "random_forest" {
            for i in 0..<x.rows {
                let total = (0..<k).reduce(0.0) { $0 + max(0, scores.values[i * k + $1]) }
                for c in 0..<k {
                    scores.values[i * k + c] = total > 0 ? max(0, scores.values[i * k + c]) / total : 1 / Double(k)
                }
            }
        } else {
            for i in 0..<x.rows { softmaxInPlace(&scores.values, row: i, k: k) }
        }
        return scores
    }

    /// The most probable class of every row (the first class on ties, as `argmax` does).
    public func predictClass(_ x: Matrix) -> [Double] {
        let p = probabilities(x)
        let k = classes.count
        return (0..<x.rows).map { i in
            var best = 0
            for c in 1..<k where p.values[i * k + c] > p.values[i * k + best] { best = c }
            return classes[best]
        }
    }
}

@inline(__always)
func softmaxInPlace(_ values: inout [Double], row i: Int, k: Int) {
    var largest = -Double.infinity
    for c in 0..<k { largest = max(largest, values[i * k + c]) }
    var total = 0.0
    for c in 0..<k {
        let e = exp(values[i * k + c] - largest)
        values[i * k + c] = e
        total += e
    }
    for c in 0..<k { values[i * k + c] /= total }
}

/// Sorted distinct labels, checked: finite, at least two; with `numClass`, integers in 0..<numClass (XGBoost's rule).
func classLabels(_ y: [Double], numClass: Int? = nil) throws(MLError) -> [Double] {
    if let i = y.firstIndex(where: { !$0.isFinite }) {
        throw MLError(.nonFinite, "training row \(i + 1): the label is missing or not finite")
    }
    if let numClass {
        if let i = y.firstIndex(where: { $0 < 0 || $0 >= Double(numClass) || $0 != $0.rounded() }) {
            throw MLError(
                .invalidOption,
                "training row \(i + 1): label \(formatNumber(y[i])) is not a class in 0..<\(numClass) (num_class); "
                    + "labels must be 0, 1, …, num_class − 1")
        }
        return (0..<numClass).map(Double.init)
    }
    let classes = Set(y).sorted()
    guard classes.count >= 2 else {
        throw MLError(.invalidOption, "the labels hold one class only (\(classes.map(formatNumber))); need two or more")
    }
    return classes
}

/// Multinomial logistic regression (softmax) with an L2 penalty, fitted by L-BFGS: scikit-learn's
/// `LogisticRegression(multi_class='multinomial')` objective Σ log-loss + ‖W‖²/(2C), intercepts not penalised.
public enum SoftmaxRegression {
    public static func fit(
        _ x: Matrix, _ y: [Double], c: Double = 1, maxIterations: Int = 500, tolerance: Double = 1e-8
    ) throws(MLError) -> MulticlassModel {
        try LinearRegression.checkInputs(x, y)
        let classes = try classLabels(y)
        let k = classes.count
        let d = x.cols
        let n = x.rows
        let index = Dictionary(uniqueKeysWithValues: classes.enumerated().map { ($1, $0) })
        let target = y.map { index[$0]! }
        let lambda = c > 0 ? 1 / c : 0
        // Parameters: k × d weights, then k intercepts.
        func objective(_ beta: [Double]) -> (Double, [Double]) {
            var gradient = [Double](repeating: 0, count: k * d + k)
            var loss = 0.0
            var scores = [Double](repeating: 0, count: k)
            x.values.withUnsafeBufferPointer { xv in
                for i in 0..<n {
                    let row = xv.baseAddress! + i * d
                    for cl in 0..<k {
                        var s = beta[k * d + cl]
                        for j in 0..<d { s += beta[cl * d + j] * row[j] }
                        scores[cl] = s
                    }
                    softmaxInPlace(&scores, row: 0, k: k)
                    loss -= log(max(scores[target[i]], 1e-300))
                    for cl in 0..<k {
                        let g = scores[cl] - (cl == target[i] ? 1 : 0)
                        for j in 0..<d { gradient[cl * d + j] += g * row[j] }
                        gradient[k * d + cl] += g
                    }
                }
            }
            for j in 0..<(k * d) {
                loss += lambda * beta[j] * beta[j] / 2
                gradient[j] += lambda * beta[j]
            }
            return (loss, gradient)
        }
        let beta = try LBFGS.minimize(
            objective, start: [Double](repeating: 0, count: k * d + k), maxIterations: maxIterations,
            tolerance: tolerance)
        return MulticlassModel(
            classes: classes, method: "softmax", weights: Array(beta[0..<(k * d)]), intercepts: Array(beta[(k * d)...]))
    }
}

/// Limited-memory BFGS with a backtracking (Armijo) line search, for smooth convex objectives.
enum LBFGS {
    static func minimize(
        _ f: ([Double]) -> (Double, [Double]), start: [Double], maxIterations: Int, tolerance: Double,
        memory: Int = 10
    ) throws(MLError) -> [Double] {
        var x = start
        var (value, gradient) = f(x)
        var s: [[Double]] = []
        var yHistory: [[Double]] = []
        func dot(_ a: [Double], _ b: [Double]) -> Double { zip(a, b).reduce(0) { $0 + $1.0 * $1.1 } }
        for _ in 0..<maxIterations {
            if gradient.map(abs).max() ?? 0 <= tolerance * max(1, abs(value)) { break }
            // Two-loop recursion: direction = −H·g.
            var q = gradient
            var alphas: [Double] = []
            for m in stride(from: s.count - 1, through: 0, by: -1) {
                let a = dot(s[m], q) / dot(yHistory[m], s[m])
                alphas.append(a)
                for j in q.indices { q[j] -= a * yHistory[m][j] }
            }
            if let last = s.indices.last {
                let scale = dot(s[last], yHistory[last]) / dot(yHistory[last], yHistory[last])
                for j in q.indices { q[j] *= scale }
            } else {
                let norm = dot(gradient, gradient).squareRoot()
                for j in q.indices { q[j] /= max(norm, 1) }
            }
            for m in 0..<s.count {
                let b = dot(yHistory[m], q) / dot(yHistory[m], s[m])
                let a = alphas[s.count - 1 - m]
                for j in q.indices { q[j] += s[m][j] * (a - b) }
            }
            var direction = q.map { -$0 }
            var slope = dot(gradient, direction)
            if slope >= 0 {  // not a descent direction: restart from steepest descent
                s.removeAll()
                yHistory.removeAll()
                direction = gradient.map { -$0 }
                slope = dot(gradient, direction)
            }
            var step = 1.0
            var candidate = x
            var next = (value, gradient)
            var accepted = false
            for _ in 0..<60 {
                for j in x.indices { candidate[j] = x[j] + step * direction[j] }
                next = f(candidate)
                if next.0.isFinite, next.0 <= value + 1e-4 * step * slope {
                    accepted = true
                    break
                }
                step /= 2
            }
            guard accepted else { break }  // no further decrease at machine precision: converged
            let sStep = zip(candidate, x).map { $0 - $1 }
            let yStep = zip(next.1, gradient).map { $0 - $1 }
            let improvement = value - next.0
            x = candidate
            (value, gradient) = next
            if dot(sStep, yStep) > 1e-12 {
                s.append(sStep)
                yHistory.append(yStep)
                if s.count > memory {
                    s.removeFirst()
                    yHistory.removeFirst()
                }
            }
            if improvement <= 1e-15 * max(1, abs(value)) { break }
        }
        guard x.allSatisfy({ $0.isFinite }) else {
            throw MLError(.nonFinite, "the optimiser diverged; standardise the features or lower C")
        }
        return x
    }
}

/// Gradient boosting for K classes with XGBoost's `multi:softprob` / `multi:softmax` objective: each round grows
/// one tree per class on the softmax gradient p − 1[y = k] and hessian max(2p(1 − p), 1e-16).
public enum MulticlassGBDT {
    public static func fit(
        _ x: Matrix, _ y: [Double], numClass: Int?, parameters: GBDTParameters = GBDTParameters(),
        validation: (x: Matrix, y: [Double])? = nil
    ) throws(MLError) -> MulticlassModel {
        guard x.rows > 0 else { throw MLError(.emptyFile, "no training rows; check the split and the data file") }
        guard x.rows == y.count else { throw MLError(.shapeMismatch, "\(x.rows) feature rows but \(y.count) labels") }
        let classes = try classLabels(y, numClass: numClass)  // missing features are fine: trees route them
        let k = classes.count
        let n = x.rows
        let d = x.cols
        let index = Dictionary(uniqueKeysWithValues: classes.enumerated().map { ($1, $0) })
        let target = y.map { index[$0]! }
        let validationTarget = validation.map { $0.y.map { index[$0] ?? -1 } }
        let (cuts, bins) = GBDT.binned(x, maxBin: parameters.maxBin)
        var margin = [Double](repeating: 0, count: n * k)
        var validationMargin = validation.map { [Double](repeating: 0, count: $0.x.rows * k) }
        var trees = [[Tree]](repeating: [], count: k)
        var gradHess = [Float](repeating: 0, count: 2 * n)
        var positions = [Int32](repeating: 0, count: n)
        var rng = SplitMix64(seed: parameters.seed)
        var bestLoss = Double.infinity
        var bestRounds = 0
        for round in 0..<parameters.numRound {
            var p = margin
            for i in 0..<n { softmaxInPlace(&p, row: i, k: k) }
            let sample = parameters.sampleRound(rows: n, features: d, rng: &rng)
            for cl in 0..<k {
                for i in 0..<n {
                    let q = p[i * k + cl]
                    let kept = sample.rows?[i] ?? true
                    gradHess[2 * i] = kept ? Float(q - (target[i] == cl ? 1 : 0)) : 0
                    gradHess[2 * i + 1] = kept ? Float(max(2 * q * (1 - q), 1e-16)) : 0
                }
                let tree = TreeBuilder(bins: bins, d: d, cuts: cuts, parameters: parameters, features: sample.features)
                    .build(gradHess: gradHess, positions: &positions)
                for i in 0..<n { margin[i * k + cl] += tree.value[Int(positions[i])] }
                if let validation {
                    validation.x.values.withUnsafeBufferPointer { xv in
                        for i in 0..<validation.x.rows {
                            validationMargin![i * k + cl] += tree.leafValue(xv.baseAddress! + i * d)
                        }
                    }
                }
                trees[cl].append(tree)
            }
            if let validation, let validationTarget, let rounds = parameters.earlyStoppingRounds {
                var q = validationMargin!
                var loss = 0.0
                for i in 0..<validation.x.rows {
                    softmaxInPlace(&q, row: i, k: k)
                    let t = validationTarget[i]
                    loss -= t < 0 ? log(1e-15) : log(max(q[i * k + t], 1e-15))
                }
                if loss < bestLoss {
                    bestLoss = loss
                    bestRounds = round + 1
                } else if round + 1 - bestRounds >= rounds {
                    for cl in 0..<k { trees[cl].removeLast(trees[cl].count - bestRounds) }
                    break
                }
            }
        }
        return MulticlassModel(
            classes: classes, method: "gbdt",
            perClass: trees.map { GBDTModel(objective: "reg:squarederror", baseMargin: 0, trees: $0) })
    }
}

/// Random forest over K classes: one forest per class on the 0/1 indicator of that class, all drawn with the
/// same seed (so the same bootstrap rows and feature subsets); probabilities are the forests' means, normalised.
public enum MulticlassRandomForest {
    public static func fit(
        _ x: Matrix, _ y: [Double], parameters: RandomForestParameters = RandomForestParameters()
    ) throws(MLError) -> MulticlassModel {
        try LinearRegression.checkInputs(x, y)
        let classes = try classLabels(y)
        guard !parameters.oversample else {
            throw MLError(.invalidOption, "oversample balances two classes only; these labels hold \(classes.count)")
        }
        var forests: [GBDTModel] = []
        for c in classes {
            forests.append(try RandomForest.fit(x, y.map { $0 == c ? 1 : 0 }, parameters: parameters))
        }
        return MulticlassModel(classes: classes, method: "random_forest", perClass: forests)
    }
}
