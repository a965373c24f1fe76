/// A boolean expression over parameters and step outputs, as a `Condition` step evaluates it.
public indirect enum Condition: Hashable, Sendable, Codable {
    public enum Comparison: String, Hashable, Sendable, Codable, CaseIterable {
        case equal = "=="
        case notEqual = "!="
        case less = "<"
        case lessOrEqual = "<="
        case greater = ">"
        case greaterOrEqual = ">="
    }

    public enum Operand: Hashable, Sendable, Codable {
        case literal(JSONValue)
        case reference(Reference)
    }

    case compare(Operand, Comparison, Operand)
    case and([Condition])
    case or([Condition])
    case not(Condition)

    public var references: [Reference] {
        switch self {
        case .compare(let left, _, let right):
            [left, right].compactMap { if case .reference(let reference) = $0 { reference } else { nil } }
        case .and(let conditions), .or(let conditions): conditions.flatMap(\.references)
        case .not(let condition): condition.references
        }
    }

    /// Evaluates the condition; `resolve` supplies each reference's value.
    ///
    /// Numbers compare numerically (integers and floats mix), strings lexicographically, anything else only for
    /// (in)equality. Comparing a number with a string is an error, not `false`, so a typo does not pass silently.
    public func evaluate(_ resolve: (Reference) throws -> JSONValue) throws -> Bool {
        switch self {
        case .and(let conditions):
            for condition in conditions where try !condition.evaluate(resolve) { return false }
            return true
        case .or(let conditions):
            for condition in conditions where try condition.evaluate(resolve) { return true }
            return false
        case .not(let condition):
            return try !condition.evaluate(resolve)
        case .compare(let left, let comparison, let right):
            let lhs = try left.value(resolve)
            let rhs = try right.value(resolve)
            return try Self.compare(lhs, comparison, rhs)
        }
    }

    static func compare(_ lhs: JSONValue, _ comparison: Comparison, _ rhs: JSONValue) throws -> Bool {
        if let a = lhs.number, let b = rhs.number { return comparison.holds(a, b) }
        if let a = lhs.string, let b = rhs.string { return comparison.holds(a, b) }
        switch comparison {
        case .equal: return lhs == rhs
        case .notEqual: return lhs != rhs
        default: throw ConditionError(lhs: lhs, comparison: comparison, rhs: rhs)
        }
    }
}

extension Condition.Comparison {
    /// Applies the comparison to two ordered values.
    public func holds<T: Comparable>(_ a: T, _ b: T) -> Bool {
        switch self {
        case .equal: a == b
        case .notEqual: a != b
        case .less: a < b
        case .lessOrEqual: a <= b
        case .greater: a > b
        case .greaterOrEqual: a >= b
        }
    }
}

extension Condition.Operand {
    func value(_ resolve: (Reference) throws -> JSONValue) throws -> JSONValue {
        switch self {
        case .literal(let value): value
        case .reference(let reference): try resolve(reference)
        }
    }
}

/// Two values that cannot be ordered against each other, e.g. a string `<` a number.
public struct ConditionError: SluiceError, Hashable, Sendable {
    public var lhs: JSONValue
    public var comparison: Condition.Comparison
    public var rhs: JSONValue

    public var description: String {
        "cannot compare \(lhs.typeName) \(comparison.rawValue) \(rhs.typeName)"
    }
    public var code: String { "type-mismatch" }
    public var message: String { description }
}
