import SluiceCore

extension Condition.Comparison {
    /// The name AWS gives the test: `Equals`, `LessThan`, `GreaterThan`, and the two "or equal" tests with the suffix
    /// each service spells its own way (`OrEqualTo` in SageMaker Pipelines, `Equals` in Step Functions). `notEqual`
    /// is `Equals`, which the caller wraps in a `Not`.
    func awsTestName(orEqual suffix: String) -> String {
        switch self {
        case .equal, .notEqual: "Equals"
        case .less: "LessThan"
        case .lessOrEqual: "LessThan" + suffix
        case .greater: "GreaterThan"
        case .greaterOrEqual: "GreaterThan" + suffix
        }
    }
}
