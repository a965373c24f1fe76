import SluiceCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A problem in a derived-column expression, located by character (1-based) within the expression.
public struct ExpressionError: Error, Hashable, Sendable, CustomStringConvertible {
    public var expression: String
    /// 1-based character position of the offending token.
    public var position: Int
    public var message: String

    public var description: String {
        "expression '\(expression)', character \(position): \(message)"
    }
}

/// A small, safe arithmetic language over a row's columns, for derived features (`data.transform` kind `derive`).
///
/// Numbers, column names (bare, or in backquotes when they hold other characters), text in single or double
/// quotes; `+ - * / ^` (power, right-associative), unary minus, comparisons `== != < <= > >=` (1 or 0),
/// parentheses; functions `log`, `log1p`, `exp`, `sqrt`, `abs`, `floor`, `ceil`, `round`, `min`, `max`,
/// `clip(x, low, high)`, `ratio(a, b)`, `fill(x, value)` (value where x is missing), and on dates
/// (`YYYY-MM-DD…` text) `year`, `month`, `day`, `weekday` (Monday 1 … Sunday 7), `days_between(a, b)`,
/// `years_between(a, b)` (whole years from a to b) and `today()` (the current UTC date).
/// A missing or non-finite input gives a missing result; so does a division by zero.
public struct Expression: Sendable {
    public let text: String
    let root: Node
    /// Columns the expression reads, in order of first use.
    public let columns: [String]

    indirect enum Node: Sendable {
        case number(Double)
        case text(String)
        case column(String, position: Int)
        case negate(Node)
        case binary(String, Node, Node, position: Int)
        case call(String, [Node], position: Int)
    }

    enum Kind: String { case number, text }

    static let numericFunctions: [String: (arity: ClosedRange<Int>, body: @Sendable ([Double]) -> Double)] = [
        "log": (1...1, { $0[0] > 0 ? log($0[0]) : .nan }),
        "log1p": (1...1, { $0[0] > -1 ? log1p($0[0]) : .nan }),
        "exp": (1...1, { exp($0[0]) }),
        "sqrt": (1...1, { $0[0] >= 0 ? $0[0].squareRoot() : .nan }),
        "abs": (1...1, { abs($0[0]) }),
        "floor": (1...1, { $0[0].rounded(.down) }),
        "ceil": (1...1, { $0[0].rounded(.up) }),
        "round": (1...1, { $0[0].rounded() }),
        "min": (2...2, { Swift.min($0[0], $0[1]) }),
        "max": (2...2, { Swift.max($0[0], $0[1]) }),
        "clip": (3...3, { Swift.min(Swift.max($0[0], $0[1]), $0[2]) }),
        "ratio": (2...2, { $0[1] == 0 ? .nan : $0[0] / $0[1] }),
    ]
    static let dateFunctions: [String: Int] = [
        "year": 1, "month": 1, "day": 1, "weekday": 1, "days_between": 2, "years_between": 2,
    ]
    static var functionNames: [String] {
        (Array(numericFunctions.keys) + Array(dateFunctions.keys) + ["fill", "today"]).sorted()
    }

    /// Parses `text`; names are checked later, against a frame's columns.
    public init(_ text: String) throws(ExpressionError) {
        self.text = text
        var parser = Parser(text: text)
        root = try parser.parse()
        var seen: [String] = []
        func collect(_ node: Node) {
            switch node {
            case .column(let name, _): if !seen.contains(name) { seen.append(name) }
            case .negate(let inner): collect(inner)
            case .binary(_, let a, let b, _):
                collect(a)
                collect(b)
            case .call(_, let arguments, _): arguments.forEach(collect)
            case .number, .text: break
            }
        }
        collect(root)
        columns = seen
    }

    /// Checks names and types against `frame`; the error names an unknown column and the closest existing one.
    public func check(against frame: Frame) throws(ExpressionError) {
        let kind = try typeOf(root, frame)
        guard kind == .number else {
            throw ExpressionError(
                expression: text, position: 1,
                message: "the expression gives text; a derived column must be a number (e.g. year(date))")
        }
    }

    /// The expression's value on every row of `frame` (missing = NaN).
    public func evaluate(_ frame: Frame) throws(ExpressionError) -> [Double] {
        try check(against: frame)
        let today = Expression.currentDay()
        return (0..<frame.rowCount).map { row in
            let v = value(root, frame, row, today)
            if case .number(let n) = v { return n.isFinite ? n : .nan }
            return .nan
        }
    }

    private func typeOf(_ node: Node, _ frame: Frame) throws(ExpressionError) -> Kind {
        switch node {
        case .number: return .number
        case .text: return .text
        case .column(let name, let position):
            guard let index = frame.names.firstIndex(of: name) else {
                let hint = closestName(to: name, among: frame.names).map { "; did you mean '\($0)'?" } ?? ""
                throw ExpressionError(
                    expression: text, position: position,
                    message: "no column '\(name)'\(hint) (columns: \(frame.names.joined(separator: ", ")))")
            }
            return frame.columns[index].numbers == nil ? .text : .number
        case .negate(let inner):
            try expect(.number, inner, frame, "'-'")
            return .number
        case .binary(let op, let a, let b, let position):
            let left = try typeOf(a, frame)
            let right = try typeOf(b, frame)
            if ["==", "!="].contains(op) {
                guard left == right else {
                    throw ExpressionError(
                        expression: text, position: position,
                        message: "'\(op)' compares a \(left.rawValue) with a \(right.rawValue)")
                }
                return .number
            }
            for (kind, operand) in [(left, a), (right, b)] where kind != .number {
                throw ExpressionError(
                    expression: text, position: Self.position(of: operand) ?? position,
                    message: "'\(op)' needs numbers, but \(describe(operand)) is text")
            }
            return .number
        case .call(let name, let arguments, let position):
            func arity(_ range: ClosedRange<Int>) throws(ExpressionError) {
                guard range.contains(arguments.count) else {
                    let wanted = range.count == 1 ? "\(range.lowerBound)" : "\(range.lowerBound)–\(range.upperBound)"
                    throw ExpressionError(
                        expression: text, position: position,
                        message: "\(name)() takes \(wanted) argument(s), got \(arguments.count)")
                }
            }
            if let function = Self.numericFunctions[name] {
                try arity(function.arity)
                for argument in arguments { try expect(.number, argument, frame, "\(name)()") }
                return .number
            }
            if let count = Self.dateFunctions[name] {
                try arity(count...count)
                for argument in arguments { try expect(.text, argument, frame, "\(name)() (a date)") }
                return .number
            }
            switch name {
            case "today":
                try arity(0...0)
                return .text
            case "fill":
                try arity(2...2)
                let kind = try typeOf(arguments[0], frame)
                try expect(kind, arguments[1], frame, "fill()")
                return kind
            default:
                let hint = closestName(to: name, among: Self.functionNames).map { "; did you mean '\($0)'?" } ?? ""
                throw ExpressionError(
                    expression: text, position: position,
                    message:
                        "unknown function '\(name)'\(hint) (functions: \(Self.functionNames.joined(separator: ", ")))"
                )
            }
        }
    }

    private func expect(_ kind: Kind, _ node: Node, _ frame: Frame, _ user: String) throws(ExpressionError) {
        let actual = try typeOf(node, frame)
        guard actual == kind else {
            throw ExpressionError(
                expression: text, position: Self.position(of: node) ?? 1,
                message: "\(user) needs \(kind == .number ? "a number" : "text"), but \(describe(node)) is "
                    + (actual == .number ? "a number" : "text"))
        }
    }

    private func describe(_ node: Node) -> String {
        switch node {
        case .column(let name, _): "column '\(name)'"
        case .text(let value): "'\(value)'"
        case .call(let name, _, _): "\(name)()"
        default: "the operand"
        }
    }

    private static func position(of node: Node) -> Int? {
        switch node {
        case .column(_, let position), .binary(_, _, _, let position), .call(_, _, let position): position
        default: nil
        }
    }

    private enum Value {
        case number(Double)
        case text(String?)
    }

    private func value(_ node: Node, _ frame: Frame, _ row: Int, _ today: String) -> Value {
        func number(_ node: Node) -> Double {
            if case .number(let n) = value(node, frame, row, today) { return n }
            return .nan
        }
        func text(_ node: Node) -> String? {
            if case .text(let t) = value(node, frame, row, today) { return t }
            return nil
        }
        switch node {
        case .number(let n): return .number(n)
        case .text(let t): return .text(t)
        case .column(let name, _):
            switch frame.columns[frame.names.firstIndex(of: name)!] {
            case .numeric(let values): return .number(values[row])
            case .text(let values): return .text(values[row])
            }
        case .negate(let inner): return .number(-number(inner))
        case .binary(let op, let a, let b, _):
            if op == "==" || op == "!=" {
                let (left, right) = (value(a, frame, row, today), value(b, frame, row, today))
                let equal: Bool?
                switch (left, right) {
                case (.number(let x), .number(let y)): equal = x.isNaN || y.isNaN ? nil : x == y
                case (.text(let x), .text(let y)): equal = x == nil || y == nil ? nil : x == y
                default: equal = nil
                }
                guard let equal else { return .number(.nan) }
                return .number((equal == (op == "==")) ? 1 : 0)
            }
            let (x, y) = (number(a), number(b))
            if x.isNaN || y.isNaN { return .number(.nan) }
            switch op {
            case "+": return .number(x + y)
            case "-": return .number(x - y)
            case "*": return .number(x * y)
            case "/": return .number(y == 0 ? .nan : x / y)
            case "^": return .number(pow(x, y))
            case "<": return .number(x < y ? 1 : 0)
            case "<=": return .number(x <= y ? 1 : 0)
            case ">": return .number(x > y ? 1 : 0)
            default: return .number(x >= y ? 1 : 0)
            }
        case .call(let name, let arguments, _):
            if let function = Self.numericFunctions[name] {
                let values = arguments.map(number)
                return .number(values.contains { $0.isNaN } ? .nan : function.body(values))
            }
            switch name {
            case "today": return .text(today)
            case "fill":
                switch value(arguments[0], frame, row, today) {
                case .number(let n): return .number(n.isNaN ? number(arguments[1]) : n)
                case .text(let t): return .text(t ?? text(arguments[1]))
                }
            default:
                let days = arguments.map { text($0).flatMap(CivilDate.init) }
                guard days.allSatisfy({ $0 != nil }) else { return .number(.nan) }
                let first = days[0]!
                switch name {
                case "year": return .number(Double(first.year))
                case "month": return .number(Double(first.month))
                case "day": return .number(Double(first.day))
                case "weekday": return .number(Double((first.dayNumber + 3) %% 7 + 1))
                case "days_between": return .number(Double(days[1]!.dayNumber - first.dayNumber))
                default: return .number(Double(first.wholeYears(to: days[1]!)))
                }
            }
        }
    }

    static func currentDay() -> String { CivilDate.today().text }
}

infix operator %% : MultiplicationPrecedence

/// Remainder with the sign of the divisor (days before 1970 give a weekday too).
private func %% (a: Int, b: Int) -> Int { ((a % b) + b) % b }

/// A calendar date (proleptic Gregorian).
@MemberwiseInit
public struct CivilDate: Sendable, Equatable {
    public var year: Int
    public var month: Int
    public var day: Int

    /// The date at the start of `YYYY-MM-DD…` text (a time after the date is ignored).
    public init?(_ text: String) {
        let parts = text.prefix(10).split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].count == 4, let y = Int(parts[0]), let m = Int(parts[1]),
            let d = Int(parts[2]), (1...12).contains(m), (1...31).contains(d)
        else { return nil }
        (year, month, day) = (y, m, d)
    }

    /// `YYYY-MM-DD`.
    public var text: String {
        func pad(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return "\(year)-\(pad(month))-\(pad(day))"
    }

    /// The current date in UTC.
    public static func today() -> CivilDate {
        var now = time(nil)
        var parts = tm()
        gmtime_r(&now, &parts)
        return CivilDate(year: Int(parts.tm_year) + 1900, month: Int(parts.tm_mon) + 1, day: Int(parts.tm_mday))
    }

    /// Days since 1970-01-01 (Howard Hinnant's days_from_civil).
    var dayNumber: Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// Whole years from self to `end` (an anniversary not yet reached does not count).
    public func wholeYears(to end: CivilDate) -> Int {
        var years = end.year - year
        if (end.month, end.day) < (month, day) { years -= 1 }
        return years
    }
}

/// The closest name by edit distance, when it is close enough to be a likely typo.
func closestName(to name: String, among candidates: [String]) -> String? {
    func distance(_ a: [Character], _ b: [Character]) -> Int {
        var previous = Array(0...b.count)
        for i in 1...max(1, a.count) where !a.isEmpty {
            var current = [i] + [Int](repeating: 0, count: b.count)
            for j in 1...max(1, b.count) where !b.isEmpty {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            previous = current
        }
        return previous[b.count]
    }
    let lowered = Array(name.lowercased())
    let scored = candidates.map { ($0, distance(lowered, Array($0.lowercased()))) }
    guard let best = scored.min(by: { $0.1 < $1.1 }) else { return nil }
    return best.1 <= max(2, name.count / 3) ? best.0 : nil
}

/// Recursive-descent parser for `Expression`.
private struct Parser {
    let characters: [Character]
    let text: String
    var index = 0

    init(text: String) {
        self.text = text
        characters = Array(text)
    }

    func error(_ message: String, at position: Int? = nil) -> ExpressionError {
        ExpressionError(expression: text, position: (position ?? index) + 1, message: message)
    }

    mutating func skipSpaces() {
        while index < characters.count, characters[index].isWhitespace { index += 1 }
    }

    mutating func parse() throws(ExpressionError) -> Expression.Node {
        skipSpaces()
        guard index < characters.count else { throw error("the expression is empty") }
        let node = try comparison()
        skipSpaces()
        guard index == characters.count else { throw error("unexpected '\(characters[index])'") }
        return node
    }

    mutating func take(_ options: [String]) -> (String, Int)? {
        skipSpaces()
        for option in options.sorted(by: { $0.count > $1.count }) {
            let end = index + option.count
            if end <= characters.count, String(characters[index..<end]) == option {
                defer { index = end }
                return (option, index)
            }
        }
        return nil
    }

    mutating func comparison() throws(ExpressionError) -> Expression.Node {
        var left = try sum()
        while let (op, position) = take(["==", "!=", "<=", ">=", "<", ">"]) {
            left = .binary(op, left, try sum(), position: position + 1)
        }
        return left
    }

    mutating func sum() throws(ExpressionError) -> Expression.Node {
        var left = try product()
        while let (op, position) = take(["+", "-"]) { left = .binary(op, left, try product(), position: position + 1) }
        return left
    }

    mutating func product() throws(ExpressionError) -> Expression.Node {
        var left = try unary()
        while let (op, position) = take(["*", "/"]) { left = .binary(op, left, try unary(), position: position + 1) }
        return left
    }

    mutating func unary() throws(ExpressionError) -> Expression.Node {
        if take(["-"]) != nil { return .negate(try unary()) }
        if take(["+"]) != nil { return try unary() }
        return try power()
    }

    mutating func power() throws(ExpressionError) -> Expression.Node {
        let base = try primary()
        if let (_, position) = take(["^", "**"]) { return .binary("^", base, try unary(), position: position + 1) }
        return base
    }

    mutating func primary() throws(ExpressionError) -> Expression.Node {
        skipSpaces()
        guard index < characters.count else { throw error("the expression ends early; a value is missing") }
        let start = index
        let c = characters[index]
        if c == "(" {
            index += 1
            let inner = try comparison()
            guard take([")"]) != nil else { throw error("missing ')' for the '(' at character \(start + 1)") }
            return inner
        }
        if c == "'" || c == "\"" || c == "`" {
            index += 1
            while index < characters.count, characters[index] != c { index += 1 }
            guard index < characters.count else { throw error("unterminated \(c)…\(c)", at: start) }
            let body = String(characters[(start + 1)..<index])
            index += 1
            return c == "`" ? .column(body, position: start + 1) : .text(body)
        }
        if c.isNumber || c == "." {
            while index < characters.count, characters[index].isNumber || characters[index] == "." { index += 1 }
            if index < characters.count, characters[index] == "e" || characters[index] == "E" {
                var end = index + 1
                if end < characters.count, characters[end] == "+" || characters[end] == "-" { end += 1 }
                if end < characters.count, characters[end].isNumber {
                    index = end
                    while index < characters.count, characters[index].isNumber { index += 1 }
                }
            }
            let literal = String(characters[start..<index])
            guard let value = Double(literal) else { throw error("'\(literal)' is not a number", at: start) }
            return .number(value)
        }
        if c.isLetter || c == "_" {
            while index < characters.count,
                characters[index].isLetter || characters[index].isNumber
                    || characters[index] == "_"
            {
                index += 1
            }
            let name = String(characters[start..<index])
            if take(["("]) != nil {
                var arguments: [Expression.Node] = []
                if take([")"]) == nil {
                    repeat { arguments.append(try comparison()) } while take([","]) != nil
                    guard take([")"]) != nil else {
                        throw error("missing ')' to close \(name)( at character \(start + 1)")
                    }
                }
                return .call(name, arguments, position: start + 1)
            }
            return .column(name, position: start + 1)
        }
        throw error("unexpected '\(c)'; expected a number, a column name, a function or '('")
    }
}
