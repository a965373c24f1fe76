/// The values of one column with missing values removed: numbers, or category labels.
public enum ColumnSample: Sendable {
    case numerical([Double])
    case categorical([String])

    /// How many values the sample holds.
    public var count: Int {
        switch self {
        case .numerical(let values): values.count
        case .categorical(let values): values.count
        }
    }
}

/// A drift test, named as Evidently names it.
public enum DriftMethod: String, Sendable, Codable, CaseIterable {
    /// Two-sample Kolmogorov–Smirnov p-value; drift when p ≤ 0.05.
    case ks
    /// Wasserstein distance ÷ max(std(reference), 0.001); drift when ≥ 0.1.
    case wasserstein
    /// Pearson's χ² p-value of current counts against reference proportions; drift when p < 0.05.
    case chisquare
    /// Jensen–Shannon distance (natural log); drift when ≥ 0.1.
    case jensenshannon
    /// Z-test p-value on the proportion of the first category; drift when p < 0.05.
    case z

    /// The default threshold Evidently uses.
    public var threshold: Double {
        switch self {
        case .ks, .chisquare, .z: 0.05
        case .wasserstein, .jensenshannon: 0.1
        }
    }

    /// Whether the method's value is a p-value (drift below the threshold) rather than a distance (drift above).
    public var isPValue: Bool { self == .ks || self == .chisquare || self == .z }
}

/// One column's drift verdict.
public struct ColumnDrift: Sendable, Codable, Equatable {
    /// Column name.
    public var column: String
    /// The test Evidently's defaults choose for this column.
    public var method: DriftMethod
    /// The p-value or distance.
    public var value: Double
    /// The threshold the value was compared with.
    public var threshold: Double
    /// Whether the column drifted.
    public var drifted: Bool
}

/// Whole-dataset verdict: drift when at least `share` of the columns drifted.
public struct DatasetDrift: Sendable, Codable, Equatable {
    public var columns: [ColumnDrift]
    public var driftedCount: Int
    public var share: Double
    public var drifted: Bool
}

/// Evidently's default data-drift rules (`get_stattest` with no method given; `DataDriftPreset`'s drift share 0.5).
public enum DriftDetector {
    /// Reference samples up to this size get the exact tests (K-S, χ², Z); larger ones get distances.
    public static let smallReferenceLimit = 1_000

    /// The method Evidently's defaults choose for a column.
    public static func defaultMethod(reference: ColumnSample, current: ColumnSample) -> DriftMethod {
        let distinct = distinctCount(reference, current)
        let small = reference.count <= smallReferenceLimit
        switch reference {
        case .numerical:
            if small { return distinct > 5 ? .ks : (distinct > 2 ? .chisquare : .z) }
            return distinct > 5 ? .wasserstein : .jensenshannon
        case .categorical:
            if small { return distinct > 2 ? .chisquare : .z }
            return .jensenshannon
        }
    }

    /// Tests one column with the default method.
    public static func columnDrift(column: String, reference: ColumnSample, current: ColumnSample) -> ColumnDrift {
        let method = defaultMethod(reference: reference, current: current)
        let value = evaluate(method, reference: reference, current: current)
        let drifted =
            switch method {
            case .ks: value <= method.threshold
            case .chisquare, .z: value < method.threshold
            case .wasserstein, .jensenshannon: value >= method.threshold
            }
        return ColumnDrift(column: column, method: method, value: value, threshold: method.threshold, drifted: drifted)
    }

    /// Tests every column; the dataset drifts when at least `share` of them drift.
    public static func datasetDrift(_ columns: [ColumnDrift], share: Double = 0.5) -> DatasetDrift {
        let drifted = columns.filter(\.drifted).count
        let reached = !columns.isEmpty && Double(drifted) / Double(columns.count) >= share
        return DatasetDrift(columns: columns, driftedCount: drifted, share: share, drifted: reached)
    }

    /// The value of `method` for the two samples.
    public static func evaluate(_ method: DriftMethod, reference: ColumnSample, current: ColumnSample) -> Double {
        switch (reference, current) {
        case (.numerical(let r), .numerical(let c)): evaluate(method, numerical: r, c)
        case (.categorical(let r), .categorical(let c)): evaluate(method, categories: r, c)
        default: .nan
        }
    }

    private static func evaluate(_ method: DriftMethod, numerical reference: [Double], _ current: [Double]) -> Double {
        switch method {
        case .ks:
            return KolmogorovSmirnov.twoSample(reference, current).pValue
        case .wasserstein:
            let norm = max(Distances.standardDeviation(reference), 0.001)
            return Distances.wasserstein(sorted: RadixSort.sorted(reference), RadixSort.sorted(current)) / norm
        case .jensenshannon where Set(reference).count > 20:
            let edges = Distances.sturgesEdges(reference + current)
            let r = Distances.histogram(reference, edges: edges).map { $0 / Double(reference.count) }
            let c = Distances.histogram(current, edges: edges).map { $0 / Double(current.count) }
            return Distances.jensenShannon(r, c)
        case .chisquare, .jensenshannon, .z:
            return evaluate(method, categories: reference, current)
        }
    }

    private static func evaluate<Key: Hashable & Comparable>(
        _ method: DriftMethod, categories reference: [Key], _ current: [Key]
    ) -> Double {
        let referenceCounts = counts(reference)
        let currentCounts = counts(current)
        let keys = Set(referenceCounts.keys).union(currentCounts.keys).sorted()
        let nr = Double(reference.count)
        let nc = Double(current.count)
        switch method {
        case .z:
            if referenceCounts.count == 1 && currentCounts.count == 1 && keys.count == 1 { return 1 }
            let first = keys[0]
            return Distances.proportionsZTestPValue(
                reference: (nr - Double(referenceCounts[first, default: 0]), reference.count),
                current: (nc - Double(currentCounts[first, default: 0]), current.count))
        case .chisquare:
            let scale = nc / nr
            return Distances.chiSquarePValue(
                observed: keys.map { Double(currentCounts[$0, default: 0]) },
                expected: keys.map { Double(referenceCounts[$0, default: 0]) * scale })
        default:
            return Distances.jensenShannon(
                keys.map { Double(referenceCounts[$0, default: 0]) / nr },
                keys.map { Double(currentCounts[$0, default: 0]) / nc })
        }
    }

    private static func counts<Key: Hashable>(_ values: [Key]) -> [Key: Int] {
        var result: [Key: Int] = [:]
        for value in values { result[value, default: 0] += 1 }
        return result
    }

    /// The number of distinct values of both samples, counted up to 6: the rules only ask whether it is above 2
    /// or above 5.
    private static func distinctCount(_ reference: ColumnSample, _ current: ColumnSample) -> Int {
        switch (reference, current) {
        case (.numerical(let r), .numerical(let c)): distinctCount(r, c, upTo: 6)
        case (.categorical(let r), .categorical(let c)): distinctCount(r, c, upTo: 6)
        default: 0
        }
    }

    private static func distinctCount<Value: Hashable>(_ first: [Value], _ second: [Value], upTo limit: Int) -> Int {
        var seen: Set<Value> = []
        for values in [first, second] {
            for value in values {
                if seen.insert(value).inserted && seen.count >= limit { return seen.count }
            }
        }
        return seen.count
    }
}
