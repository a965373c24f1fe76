import SluiceCore

/// Row index splits: by position, by ratios with a seeded shuffle, stratified by label.
public enum Split {
    /// First `count` rows and the rest (W1: first 422 / last 20).
    public static func positional(rows: Int, first count: Int) -> [[Int]] {
        let k = min(max(0, count), rows)
        return [Array(0..<k), Array(k..<rows)]
    }

    /// Rows split by `ratios` (normalised; e.g. 0.7, 0.15, 0.15), shuffled with `seed` when given, in file order
    /// otherwise. Part sizes are ⌊ratio·n⌋ with the remainder going to the last part.
    public static func ratios(rows: Int, _ ratios: [Double], seed: UInt64?) throws(MLError) -> [[Int]] {
        guard !ratios.isEmpty, ratios.allSatisfy({ $0 >= 0 }), ratios.reduce(0, +) > 0 else {
            throw MLError(.invalidOption, "ratios must be non-negative numbers with a positive sum, e.g. [0.7, 0.3]")
        }
        var order = Array(0..<rows)
        if let seed {
            var rng = SplitMix64(seed: seed)
            order.shuffle(using: &rng)
        }
        return cut(order, ratios)
    }

    /// Like `ratios`, but each label value keeps its proportion in every part.
    public static func stratified(labels: [Double], _ ratios: [Double], seed: UInt64) throws(MLError) -> [[Int]] {
        guard !ratios.isEmpty, ratios.allSatisfy({ $0 >= 0 }), ratios.reduce(0, +) > 0 else {
            throw MLError(.invalidOption, "ratios must be non-negative numbers with a positive sum, e.g. [0.7, 0.3]")
        }
        var rng = SplitMix64(seed: seed)
        var groups: [Double: [Int]] = [:]
        for (i, label) in labels.enumerated() { groups[label, default: []].append(i) }
        var parts = [[Int]](repeating: [], count: ratios.count)
        for key in groups.keys.sorted() {
            var members = groups[key]!
            members.shuffle(using: &rng)
            for (p, part) in cut(members, ratios).enumerated() { parts[p].append(contentsOf: part) }
        }
        for p in parts.indices { parts[p].shuffle(using: &rng) }
        return parts
    }

    private static func cut(_ order: [Int], _ ratios: [Double]) -> [[Int]] {
        let total = ratios.reduce(0, +)
        var parts: [[Int]] = []
        var start = 0
        for (k, ratio) in ratios.enumerated() {
            let size =
                k == ratios.count - 1
                ? order.count - start : min(order.count - start, Int(Double(order.count) * ratio / total))
            parts.append(Array(order[start..<(start + size)]))
            start += size
        }
        return parts
    }
}
