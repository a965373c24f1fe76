/// A dense feed-forward regressor: ReLU hidden layers, one linear output.
public struct MLPModel: Sendable, Codable, Equatable {
    /// Per layer, row-major weights (outputs × inputs).
    public var weights: [[Double]]
    public var biases: [[Double]]
    /// Layer widths, inputs first, 1 last.
    public var sizes: [Int]

    /// Predictions for every row.
    public func predict(_ x: Matrix) -> [Double] {
        (0..<x.rows).map { i in forward(Array(x.values[(i * x.cols)..<((i + 1) * x.cols)])).last![0] }
    }

    /// Activations of every layer for one input row (the input first).
    func forward(_ input: [Double]) -> [[Double]] {
        var activations = [input]
        for layer in 0..<weights.count {
            let previous = activations[layer]
            let outputs = sizes[layer + 1]
            var next = biases[layer]
            for o in 0..<outputs {
                var s = next[o]
                for k in 0..<previous.count { s += weights[layer][o * previous.count + k] * previous[k] }
                next[o] = layer == weights.count - 1 ? s : max(0, s)
            }
            activations.append(next)
        }
        return activations
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
        for _ in 0..<parameters.epochs {
            trainRows.shuffle(using: &rng)
            var start = 0
            while start < trainRows.count {
                let batch = trainRows[start..<min(start + parameters.batchSize, trainRows.count)]
                start += parameters.batchSize
                var gw = model.weights.map { $0.map { _ in 0.0 } }
                var gb = model.biases.map { $0.map { _ in 0.0 } }
                for i in batch {
                    let a = model.forward(Array(x.values[(i * x.cols)..<((i + 1) * x.cols)]))
                    var delta = [2 * (a.last![0] - y[i]) / Double(batch.count)]
                    for layer in stride(from: model.weights.count - 1, through: 0, by: -1) {
                        let input = a[layer]
                        for o in 0..<delta.count {
                            gb[layer][o] += delta[o]
                            for k in 0..<input.count { gw[layer][o * input.count + k] += delta[o] * input[k] }
                        }
                        if layer > 0 {
                            var back = [Double](repeating: 0, count: input.count)
                            for k in 0..<input.count where input[k] > 0 {
                                var s = 0.0
                                for o in 0..<delta.count { s += model.weights[layer][o * input.count + k] * delta[o] }
                                back[k] = s
                            }
                            delta = back
                        }
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
