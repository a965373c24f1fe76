#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Distances and tests between a reference and a current sample, as SciPy defines them.
public enum Distances {
    /// The first Wasserstein distance between two samples (`scipy.stats.wasserstein_distance(u, v)`).
    public static func wasserstein(sorted u: [Double], _ v: [Double]) -> Double {
        precondition(!u.isEmpty && !v.isEmpty, "Wasserstein distance needs two non-empty samples")
        // ∫|U − V| over the merged values, stepping from one observed value to the next.
        var i = 0
        var j = 0
        var total = 0.0
        var previous = min(u[0], v[0])
        let nu = Double(u.count)
        let nv = Double(v.count)
        while i < u.count || j < v.count {
            let value = j == v.count || (i < u.count && u[i] <= v[j]) ? u[i] : v[j]
            if value > previous {
                total += abs(Double(i) / nu - Double(j) / nv) * (value - previous)
                previous = value
            }
            while i < u.count && u[i] <= value { i += 1 }
            while j < v.count && v[j] <= value { j += 1 }
        }
        return total
    }

    /// The population standard deviation (NumPy's `np.std`, ddof 0), computed in two passes.
    public static func standardDeviation(_ values: [Double]) -> Double {
        let mean = values.reduce(0, +) / Double(values.count)
        let squares = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) }
        return (squares / Double(values.count)).squareRoot()
    }

    /// The Jensen–Shannon distance between two histograms, natural log (`scipy.spatial.distance.jensenshannon`).
    public static func jensenShannon(_ p: [Double], _ q: [Double]) -> Double {
        let sumP = p.reduce(0, +)
        let sumQ = q.reduce(0, +)
        var divergence = 0.0
        for (rawP, rawQ) in zip(p, q) {
            let pi = rawP / sumP
            let qi = rawQ / sumQ
            let mi = (pi + qi) / 2
            divergence += relativeEntropy(pi, mi) + relativeEntropy(qi, mi)
        }
        return (divergence / 2).squareRoot()
    }

    /// `scipy.special.rel_entr`.
    private static func relativeEntropy(_ x: Double, _ y: Double) -> Double {
        if x > 0 && y > 0 { return x * log(x / y) }
        if x == 0 && y >= 0 { return 0 }
        return .infinity
    }

    /// Bin edges as `np.histogram_bin_edges(values, bins="sturges")`.
    public static func sturgesEdges(_ values: [Double]) -> [Double] {
        var low = values.min() ?? 0
        var high = values.max() ?? 0
        let width = (high - low) / (log2(Double(values.count)) + 1)
        if low == high {
            low -= 0.5
            high += 0.5
        }
        let bins = width == 0 ? 1 : Int(((high - low) / width).rounded(.up))
        // np.linspace: start + i·step, the last edge exactly the end.
        let step = (high - low) / Double(bins)
        var edges = (0...bins).map { Double($0) * step + low }
        edges[bins] = high
        return edges
    }

    /// Counts per bin as `np.histogram(values, edges)`: [e_i, e_{i+1}), the last bin closed.
    public static func histogram(_ values: [Double], edges: [Double]) -> [Double] {
        var counts = [Double](repeating: 0, count: edges.count - 1)
        let last = edges.count - 1
        for value in values {
            guard value >= edges[0] && value <= edges[last] else { continue }
            // The last edge i with edges[i] <= value, capped at the last bin.
            var low = 0
            var high = last
            while high - low > 1 {
                let middle = (low + high) / 2
                if edges[middle] <= value { low = middle } else { high = middle }
            }
            counts[low] += 1
        }
        return counts
    }

    /// Pearson's χ² test p-value of observed against expected counts (`scipy.stats.chisquare(f_obs, f_exp)`).
    public static func chiSquarePValue(observed: [Double], expected: [Double]) -> Double {
        var statistic = 0.0
        for (o, e) in zip(observed, expected) { statistic += (o - e) * (o - e) / e }
        if statistic.isNaN { return .nan }
        return SpecialFunctions.chiSquareSurvival(statistic, degrees: Double(observed.count - 1))
    }

    /// Two-sided p-value of the Z-test for the difference of two proportions, pooled (Evidently's `z` test).
    /// - Parameters:
    ///   - reference: the count of "successes" and the sample size in the reference.
    ///   - current: the same in the current sample.
    public static func proportionsZTestPValue(reference: (Double, Int), current: (Double, Int)) -> Double {
        let n1 = Double(reference.1)
        let n2 = Double(current.1)
        let p1 = reference.0 / n1
        let p2 = current.0 / n2
        let pooled = (p1 * n1 + p2 * n2) / (n1 + n2)
        let z = (p1 - p2) / (pooled * (1 - pooled) * (1 / n1 + 1 / n2)).squareRoot()
        return 2 * (1 - SpecialFunctions.normalCDF(abs(z)))
    }
}
