public import SluiceML

/// A baseline: what the training data looked like, as Model Monitor's `statistics.json` and `constraints.json`.
public struct Baseline: Sendable, Equatable {
    public var statistics: MonitoringStatistics
    public var constraints: MonitoringConstraints

    /// Number of equal-width buckets in each numeric feature's distribution.
    static let bucketCount = 10
    /// Largest number of quantiles kept in a numeric feature's sketch.
    static let sketchSize = 2048

    /// Describes `features` (all columns when nil) of `data`.
    /// - Throws: `MLError` naming a feature the data lacks.
    public init(data: Frame, features: [String]? = nil) throws(MLError) {
        let names = features ?? data.names
        var statisticFeatures: [MonitoringStatistics.Feature] = []
        var constraintFeatures: [MonitoringConstraints.Feature] = []
        for name in names {
            let column = data.columns[try data.index(of: name)]
            let (statistic, constraint) = Self.describe(name: name, column: column)
            statisticFeatures.append(statistic)
            constraintFeatures.append(constraint)
        }
        statistics = MonitoringStatistics(dataset: .init(itemCount: data.rowCount), features: statisticFeatures)
        constraints = MonitoringConstraints(features: constraintFeatures, monitoringConfig: .init())
    }

    private static func describe(name: String, column: Column)
        -> (MonitoringStatistics.Feature, MonitoringConstraints.Feature)
    {
        let total = column.count
        switch column {
        case .numeric(let values):
            let present = values.filter { !$0.isNaN }.sorted()
            let common = MonitoringStatistics.Common(numPresent: present.count, numMissing: total - present.count)
            let type: InferredType =
                present.isEmpty ? .unknown : present.allSatisfy { $0.rounded() == $0 } ? .integral : .fractional
            let numerical = present.isEmpty ? nil : numericalStatistics(present, common: common)
            return (
                .init(name: name, inferredType: type, numericalStatistics: numerical, stringStatistics: nil),
                .init(
                    name: name, inferredType: type, completeness: share(present.count, of: total),
                    numConstraints: .init(isNonNegative: present.allSatisfy { $0 >= 0 }), stringConstraints: nil)
            )
        case .text(let values):
            var counts: [String: Int] = [:]
            for case let value? in values { counts[value, default: 0] += 1 }
            let present = counts.values.reduce(0, +)
            let buckets = counts.sorted { $0.key < $1.key }.map {
                MonitoringStatistics.CategoricalDistribution.CategoryCount(value: $0.key, count: $0.value)
            }
            let strings = MonitoringStatistics.Strings(
                common: .init(numPresent: present, numMissing: total - present), distinctCount: Double(counts.count),
                distribution: .init(categorical: .init(buckets: buckets)))
            return (
                .init(name: name, inferredType: .string, numericalStatistics: nil, stringStatistics: strings),
                .init(
                    name: name, inferredType: .string, completeness: share(present, of: total), numConstraints: nil,
                    stringConstraints: .init(domains: buckets.map(\.value)))
            )
        }
    }

    private static func share(_ part: Int, of whole: Int) -> Double { whole == 0 ? 0 : Double(part) / Double(whole) }

    private static func numericalStatistics(_ sorted: [Double], common: MonitoringStatistics.Common)
        -> MonitoringStatistics.Numerical
    {
        let sum = sorted.reduce(0, +)
        let low = sorted[0]
        let high = sorted[sorted.count - 1]
        let width = (high - low) / Double(bucketCount)
        var counts = [Int](repeating: 0, count: bucketCount)
        for value in sorted {
            let index = width == 0 ? 0 : min(Int((value - low) / width), bucketCount - 1)
            counts[index] += 1
        }
        let buckets = (0..<bucketCount).map { index in
            MonitoringStatistics.Bucket(
                lowerBound: low + Double(index) * width,
                upperBound: index == bucketCount - 1 ? high : low + Double(index + 1) * width, count: counts[index])
        }
        let step = max(1, sorted.count / sketchSize)
        let sketch = stride(from: 0, to: sorted.count, by: step).map { sorted[$0] }
        return .init(
            common: common, mean: sum / Double(sorted.count), sum: sum,
            stdDev: Distances.standardDeviation(sorted), min: low, max: high,
            distribution: .init(
                kll: .init(buckets: buckets, sketch: .init(parameters: .init(c: 0.64, k: 2048), data: [sketch]))))
    }
}
