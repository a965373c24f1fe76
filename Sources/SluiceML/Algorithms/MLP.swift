import SluiceCore

/// A dense feed-forward regressor: ReLU hidden layers, one linear output.
public struct MLPModel: Sendable, Codable, Equatable {
    /// Per layer, row-major weights (outputs × inputs).
    public var weights: [[Double]]
    public var biases: [[Double]]
    /// Layer widths, inputs first, 1 last.
    public var sizes: [Int]

    /// Predictions for every row.
    public func predict(_ x: Matrix) -> [Double] {
        var work = MLPWorkspace(sizes)
        return x.values.withUnsafeBufferPointer { xv in
            (0..<x.rows).map { i in
                work.forward(self, xv.baseAddress! + i * x.cols)
                return work.output
            }
        }
    }
}

/// Per-layer buffers reused for every row, so training and prediction allocate nothing per row.
struct MLPWorkspace {
    /// Every layer's activations back to back (the input row first, the output last); `offsets[l]` is where
    /// layer l starts. `deltas` has the same layout.
    var activations: [Double]
    var deltas: [Double]
    let offsets: [Int]

    init(_ sizes: [Int]) {
        var offsets = [0]
        for size in sizes { offsets.append(offsets.last! + size) }
        self.offsets = offsets
        activations = [Double](repeating: 0, count: offsets.last!)
        deltas = activations
    }

    /// The network's output for the last `forward`.
    var output: Double { activations[offsets[offsets.count - 2]] }

    mutating func forward(_ model: MLPModel, _ input: UnsafePointer<Double>) {
        let layers = model.weights.count
        let offsets = self.offsets
        activations.withUnsafeMutableBufferPointer { act in
            let base = act.baseAddress!
            for k in 0..<model.sizes[0] { base[k] = input[k] }
            for layer in 0..<layers {
                let inputs = model.sizes[layer]
                let a = base + offsets[layer]
                let next = base + offsets[layer + 1]
                let last = layer == layers - 1
                model.weights[layer].withUnsafeBufferPointer { w in
                    for o in 0..<model.sizes[layer + 1] {
                        var s = model.biases[layer][o]
                        let row = w.baseAddress! + o * inputs
                        for k in 0..<inputs { s += row[k] * a[k] }
                        next[o] = last ? s : max(0, s)
                    }
                }
            }
        }
    }

    /// Adds this row's gradient of scale · (output − target)² to `gw`/`gb` (after `forward`).
    mutating func backward(_ model: MLPModel, target: Double, scale: Double, gw: inout [[Double]], gb: inout [[Double]])
    {
        let layers = model.weights.count
        let offsets = self.offsets
        activations.withUnsafeBufferPointer { act in
            deltas.withUnsafeMutableBufferPointer { del in
                let (aBase, dBase) = (act.baseAddress!, del.baseAddress!)
                dBase[offsets[layers]] = 2 * (aBase[offsets[layers]] - target) * scale
                for layer in stride(from: layers - 1, through: 0, by: -1) {
                    let inputs = model.sizes[layer]
                    let outputs = model.sizes[layer + 1]
                    let a = aBase + offsets[layer]
                    let delta = dBase + offsets[layer + 1]
                    gw[layer].withUnsafeMutableBufferPointer { g in
                        for o in 0..<outputs where delta[o] != 0 {
                            gb[layer][o] += delta[o]
                            let row = g.baseAddress! + o * inputs
                            for k in 0..<inputs { row[k] += delta[o] * a[k] }
                        }
                    }
                    guard layer > 0 else { break }
                    let back = dBase + offsets[layer]
                    model.weights[layer].withUnsafeBufferPointer { w in
                        for k in 0..<inputs { back[k] = 0 }
                        for o in 0..<outputs where delta[o] != 0 {
                            let row = w.baseAddress! + o * inputs
                            for k in 0..<inputs { back[k] += row[k] * delta[o] }
                        }
                        for k in 0..<inputs where a[k] <= 0 { back[k] = 0 }  // ReLU'
                    }
                }
            }
        }
    }
}

/// MLP training hyperparameters (W2's names: epochs, layers, dense_layer, batch_size).
public struct MLPParameters: Sendable, Codable, Equatable {
    public var hiddenLayers: Int = 2
    public var width: Int = 64
    public var epochs: Int = 200
    public var batchSize: Int = 8
    public var learningRate: Double = 0.001
    /// Stop when the validation loss has not improved for this many epochs (keeps the best weights).
    public var patience: Int = 10
    /// Share of the training rows held out for early stopping when no validation set is given.
    public var validationFraction: Double = 0.1
    public var seed: UInt64 = 0

    public init() {}
}

/// Trains an MLP regressor with Adam on mean squared error and early stopping.
public enum MLP {
    public static func fit(
        _ x: Matrix, _ y: [Double], parameters: MLPParameters = MLPParameters(),
        validation: (x: Matrix, y: [Double])? = nil
    ) throws(MLError) -> MLPModel {
        try LinearRegression.checkInputs(x, y)
        guard parameters.hiddenLayers >= 0, parameters.width > 0, parameters.epochs > 0, parameters.batchSize > 0 else {
            throw MLError(.invalidOption, "layers ≥ 0, dense_layer, epochs and batch_size must be positive")
        }
        var rng = SplitMix64(seed: parameters.seed)
        var trainRows = Array(0..<x.rows)
        trainRows.shuffle(using: &rng)
        var checkX: Matrix
        var checkY: [Double]
        if let validation {
            (checkX, checkY) = validation
        } else {
            let held = x.rows >= 20 ? max(1, Int(Double(x.rows) * parameters.validationFraction)) : 0
            let heldRows = Array(trainRows.prefix(held))
            trainRows.removeFirst(held)
            checkX = x.rows(heldRows.isEmpty ? trainRows : heldRows)
            checkY = (heldRows.isEmpty ? trainRows : heldRows).map { y[$0] }
        }
        let sizes = [x.cols] + [Int](repeating: parameters.width, count: parameters.hiddenLayers) + [1]
        var model = MLPModel(weights: [], biases: [], sizes: sizes)
        for layer in 0..<(sizes.count - 1) {
            let fanIn = sizes[layer]
            let limit = (6 / Double(fanIn)).squareRoot()  // He uniform
            model.weights.append((0..<(sizes[layer + 1] * fanIn)).map { _ in (rng.nextUnit() * 2 - 1) * limit })
            model.biases.append([Double](repeating: 0, count: sizes[layer + 1]))
        }
        var m1w = model.weights.map { $0.map { _ in 0.0 } }
        var m2w = m1w
        var m1b = model.biases.map { $0.map { _ in 0.0 } }
        var m2b = m1b
        var step = 0.0
        let (beta1, beta2, epsilon) = (0.9, 0.999, 1e-8)
        var best = model
        var bestLoss = Double.infinity
        var sinceBest = 0
        var work = MLPWorkspace(sizes)
        var gw = model.weights.map { $0.map { _ in 0.0 } }
        var gb = model.biases.map { $0.map { _ in 0.0 } }
        for _ in 0..<parameters.epochs {
            trainRows.shuffle(using: &rng)
            var start = 0
            while start < trainRows.count {
                let batch = trainRows[start..<min(start + parameters.batchSize, trainRows.count)]
                start += parameters.batchSize
                for layer in 0..<gw.count {
                    for k in gw[layer].indices { gw[layer][k] = 0 }
                    for k in gb[layer].indices { gb[layer][k] = 0 }
                }
                let scale = 1 / Double(batch.count)
                x.values.withUnsafeBufferPointer { xv in
                    for i in batch {
                        work.forward(model, xv.baseAddress! + i * x.cols)
                        work.backward(model, target: y[i], scale: scale, gw: &gw, gb: &gb)
                    }
                }
                step += 1
                let correction1 = 1 - pow(beta1, step)
                let correction2 = 1 - pow(beta2, step)
                let rate = parameters.learningRate
                for layer in 0..<model.weights.count {
                    for k in 0..<gw[layer].count {
                        m1w[layer][k] = beta1 * m1w[layer][k] + (1 - beta1) * gw[layer][k]
                        m2w[layer][k] = beta2 * m2w[layer][k] + (1 - beta2) * gw[layer][k] * gw[layer][k]
                        model.weights[layer][k] -=
                            rate * (m1w[layer][k] / correction1)
                            / ((m2w[layer][k] / correction2).squareRoot() + epsilon)
                    }
                    for k in 0..<gb[layer].count {
                        m1b[layer][k] = beta1 * m1b[layer][k] + (1 - beta1) * gb[layer][k]
                        m2b[layer][k] = beta2 * m2b[layer][k] + (1 - beta2) * gb[layer][k] * gb[layer][k]
                        model.biases[layer][k] -=
                            rate * (m1b[layer][k] / correction1)
                            / ((m2b[layer][k] / correction2).squareRoot() + epsilon)
                    }
                }
            }
            let loss = Metrics.mse(checkY, model.predict(checkX))
            guard loss.isFinite else {
                throw MLError(.nonFinite, "MLP training diverged; lower the learning rate or standardise the features")
            }
            if loss < bestLoss {
                bestLoss = loss
                best = model
                sinceBest = 0
            } else {
                sinceBest += 1
                if sinceBest >= parameters.patience { break }
            }
        }
        return best
    }

    private static func pow(_ base: Double, _ exponent: Double) -> Double {
        var result = 1.0
        var e = Int(exponent)
        var b = base
        while e > 0 {
            if e & 1 == 1 { result *= b }
            b *= b
            e >>= 1
        }
        return result
    }
}
