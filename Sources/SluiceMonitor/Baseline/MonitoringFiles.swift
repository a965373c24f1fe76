/// `statistics.json` in SageMaker Model Monitor's shape.
public struct MonitoringStatistics: Sendable, Codable, Equatable {
    public var version: Double = 0
    public var dataset: Dataset
    public var features: [Feature]

    public struct Dataset: Sendable, Codable, Equatable {
        public var itemCount: Int
        enum CodingKeys: String, CodingKey { case itemCount = "item_count" }
    }

    public struct Common: Sendable, Codable, Equatable {
        public var numPresent: Int
        public var numMissing: Int
        enum CodingKeys: String, CodingKey {
            case numPresent = "num_present"
            case numMissing = "num_missing"
        }
    }

    public struct Feature: Sendable, Codable, Equatable {
        public var name: String
        public var inferredType: InferredType
        public var numericalStatistics: Numerical?
        public var stringStatistics: Strings?
        enum CodingKeys: String, CodingKey {
            case name
            case inferredType = "inferred_type"
            case numericalStatistics = "numerical_statistics"
            case stringStatistics = "string_statistics"
        }
    }

    public struct Numerical: Sendable, Codable, Equatable {
        public var common: Common
        public var mean: Double
        public var sum: Double
        public var stdDev: Double
        public var min: Double
        public var max: Double
        public var distribution: Distribution
        enum CodingKeys: String, CodingKey {
            case common, mean, sum, min, max, distribution
            case stdDev = "std_dev"
        }
    }

    public struct Distribution: Sendable, Codable, Equatable {
        public var kll: KLL
    }

    /// Equal-width buckets over [min, max] and a quantile sketch of the values.
    public struct KLL: Sendable, Codable, Equatable {
        public var buckets: [Bucket]
        public var sketch: Sketch
    }

    public struct Bucket: Sendable, Codable, Equatable {
        public var lowerBound: Double
        public var upperBound: Double
        public var count: Int
        enum CodingKeys: String, CodingKey {
            case count
            case lowerBound = "lower_bound"
            case upperBound = "upper_bound"
        }
    }

    public struct Sketch: Sendable, Codable, Equatable {
        public var parameters: Parameters
        public var data: [[Double]]
        public struct Parameters: Sendable, Codable, Equatable {
            public var c: Double
            public var k: Double
        }
    }

    public struct Strings: Sendable, Codable, Equatable {
        public var common: Common
        public var distinctCount: Double
        public var distribution: CategoricalDistribution
        enum CodingKeys: String, CodingKey {
            case common, distribution
            case distinctCount = "distinct_count"
        }
    }

    public struct CategoricalDistribution: Sendable, Codable, Equatable {
        public var categorical: Categorical
        public struct Categorical: Sendable, Codable, Equatable {
            public var buckets: [CategoryCount]
        }
        public struct CategoryCount: Sendable, Codable, Equatable {
            public var value: String
            public var count: Int
        }
    }
}

/// SageMaker's inferred feature types.
public enum InferredType: String, Sendable, Codable {
    case integral = "Integral"
    case fractional = "Fractional"
    case string = "String"
    case unknown = "Unknown"

    /// Whether values of the type are numbers.
    public var isNumeric: Bool { self == .integral || self == .fractional }
}

/// `constraints.json` in SageMaker Model Monitor's shape.
public struct MonitoringConstraints: Sendable, Codable, Equatable {
    public var version: Double = 0
    public var features: [Feature]
    public var monitoringConfig: MonitoringConfig
    enum CodingKeys: String, CodingKey {
        case version, features
        case monitoringConfig = "monitoring_config"
    }

    public struct Feature: Sendable, Codable, Equatable {
        public var name: String
        public var inferredType: InferredType
        /// Share of rows where the feature is present, 0…1.
        public var completeness: Double
        public var numConstraints: NumConstraints?
        public var stringConstraints: StringConstraints?
        enum CodingKeys: String, CodingKey {
            case name, completeness
            case inferredType = "inferred_type"
            case numConstraints = "num_constraints"
            case stringConstraints = "string_constraints"
        }
    }

    public struct NumConstraints: Sendable, Codable, Equatable {
        public var isNonNegative: Bool
        enum CodingKeys: String, CodingKey { case isNonNegative = "is_non_negative" }
    }

    public struct StringConstraints: Sendable, Codable, Equatable {
        public var domains: [String]
    }

    public struct MonitoringConfig: Sendable, Codable, Equatable {
        public var evaluateConstraints = "Enabled"
        public var emitMetrics = "Enabled"
        /// Share of values that must have the baseline's type.
        public var datatypeCheckThreshold = 1.0
        /// Share of a string feature's values that must be in its domain.
        public var domainContentThreshold = 1.0
        public var distributionConstraints = DistributionConstraints()
        enum CodingKeys: String, CodingKey {
            case evaluateConstraints = "evaluate_constraints"
            case emitMetrics = "emit_metrics"
            case datatypeCheckThreshold = "datatype_check_threshold"
            case domainContentThreshold = "domain_content_threshold"
            case distributionConstraints = "distribution_constraints"
        }
        public init() {}
    }

    /// Drift is judged by Evidently's default test per feature; `comparison_threshold` is its distance threshold.
    public struct DistributionConstraints: Sendable, Codable, Equatable {
        public var performComparison = "Enabled"
        public var comparisonThreshold = 0.1
        public var comparisonMethod = "Robust"
        enum CodingKeys: String, CodingKey {
            case performComparison = "perform_comparison"
            case comparisonThreshold = "comparison_threshold"
            case comparisonMethod = "comparison_method"
        }
        public init() {}
    }
}

/// `constraint_violations.json` in SageMaker Model Monitor's shape.
public struct ConstraintViolations: Sendable, Codable, Equatable {
    public var violations: [Violation]

    public struct Violation: Sendable, Codable, Equatable {
        public var featureName: String
        public var constraintCheckType: CheckType
        public var description: String
        enum CodingKeys: String, CodingKey {
            case description
            case featureName = "feature_name"
            case constraintCheckType = "constraint_check_type"
        }
    }

    /// The checks Model Monitor reports.
    public enum CheckType: String, Sendable, Codable, CaseIterable {
        case dataTypeCheck = "data_type_check"
        case completenessCheck = "completeness_check"
        case baselineDriftCheck = "baseline_drift_check"
        case missingColumnCheck = "missing_column_check"
        case extraColumnCheck = "extra_column_check"
        case categoricalValuesCheck = "categorical_values_check"
    }
}
