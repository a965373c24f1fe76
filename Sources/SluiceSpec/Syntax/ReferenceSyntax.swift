import Foundation
public import SluiceCore

/// A reference as written, before names are resolved: `$.steps['Train Model'].outputs.ModelUri.a[0]`.
@MemberwiseInit
public struct ReferenceSyntax: Hashable, Sendable {
    public enum Root: Hashable, Sendable {
        case parameter(String)
        case stepOutput(step: String, output: String)
        /// `$.outputs.Y`: an output of the previous step in a chain (the seed's shorthand).
        case previousOutput(String)
        case execution(String)
        case item
    }

    public var root: Root
    public var path: [PathComponent] = []

    /// Parses a reference; the error text says what is malformed.
    public static func parse(_ text: String) -> Result<ReferenceSyntax, ReferenceSyntaxError> {
        var body = Substring(text.trimmingCharacters(in: .whitespaces))
        guard body.hasPrefix("$") else { return .failure(.init("a reference starts with '$.'")) }
        body = body.dropFirst()
        let components: [PathComponent]
        switch tokenize(body) {
        case .success(let parsed): components = parsed
        case .failure(let error): return .failure(error)
        }
        func key(_ index: Int) -> String? {
            guard components.indices.contains(index), case .key(let key) = components[index] else { return nil }
            return key
        }
        guard let head = key(0) else {
            return .failure(.init("expected '$.parameters', '$.steps', '$.outputs', '$.execution' or '$.item'"))
        }
        switch head {
        case "parameters":
            guard let name = key(1) else { return .failure(.init("'$.parameters' needs a parameter name")) }
            return .success(ReferenceSyntax(root: .parameter(name), path: Array(components.dropFirst(2))))
        case "steps":
            guard let step = key(1) else { return .failure(.init("'$.steps' needs a step name")) }
            guard key(2) == "outputs", let output = key(3) else {
                return .failure(.init("expected '$.steps.\(step).outputs.NAME'"))
            }
            return .success(
                ReferenceSyntax(root: .stepOutput(step: step, output: output), path: Array(components.dropFirst(4))))
        case "outputs":
            guard let output = key(1) else { return .failure(.init("'$.outputs' needs an output name")) }
            return .success(ReferenceSyntax(root: .previousOutput(output), path: Array(components.dropFirst(2))))
        case "execution":
            guard let field = key(1), components.count == 2 else {
                return .failure(.init("expected '$.execution.id', '$.execution.name' or '$.execution.startTime'"))
            }
            return .success(ReferenceSyntax(root: .execution(field), path: []))
        case "item":
            return .success(ReferenceSyntax(root: .item, path: Array(components.dropFirst(1))))
        default:
            let roots = ["parameters", "steps", "outputs", "execution", "item"]
            let hint = closestMatch(to: head, in: roots).map { "; did you mean '$.\($0)'?" } ?? ""
            return .failure(.init("unknown reference root '$.\(head)'\(hint)"))
        }
    }

    /// `.name`, `['quoted name']`, `["quoted"]` and `[index]` components.
    static func tokenize(_ text: Substring) -> Result<[PathComponent], ReferenceSyntaxError> {
        var components: [PathComponent] = []
        var rest = text
        while let first = rest.first {
            if first == "." {
                rest = rest.dropFirst()
                let name = rest.prefix { $0 != "." && $0 != "[" }
                guard !name.isEmpty, !name.contains("]") else {
                    return .failure(.init("a name is missing after '.'"))
                }
                components.append(.key(String(name)))
                rest = rest.dropFirst(name.count)
            } else if first == "[" {
                rest = rest.dropFirst()
                if let quote = rest.first, quote == "'" || quote == "\"" {
                    rest = rest.dropFirst()
                    guard let end = rest.firstIndex(of: quote) else {
                        return .failure(.init("a quoted name is not closed"))
                    }
                    components.append(.key(String(rest[..<end])))
                    rest = rest[rest.index(after: end)...]
                    guard rest.first == "]" else { return .failure(.init("expected ']' after a quoted name")) }
                    rest = rest.dropFirst()
                } else {
                    let digits = rest.prefix { $0 != "]" }
                    guard rest.dropFirst(digits.count).first == "]", let index = Int(digits) else {
                        return .failure(.init("expected an index or a quoted name inside '[…]'"))
                    }
                    components.append(.index(index))
                    rest = rest.dropFirst(digits.count + 1)
                }
            } else {
                return .failure(.init("unexpected '\(first)'; separate names with '.' or quote them as ['Name']"))
            }
        }
        return .success(components)
    }
}

/// Why a reference could not be read.
public struct ReferenceSyntaxError: MessageError, Hashable, Sendable {
    public static let code = "bad-reference"
    public var description: String
    init(_ description: String) { self.description = description }
}

/// A string with `{…}` placeholders, as written.
enum TemplateSyntax {
    enum Part {
        case literal(String)
        case reference(String, offset: Int)
    }

    static let roots = ["parameters.", "steps.", "steps[", "outputs.", "execution.", "item"]

    /// Splits `text` into literal text and placeholders; braces not starting with a reference root stay literal.
    static func parts(_ text: String) -> [Part] {
        var parts: [Part] = []
        var literal = ""
        var index = text.startIndex
        while index < text.endIndex {
            let character = text[index]
            if character == "{", let close = text[index...].firstIndex(of: "}") {
                var inner = text[text.index(after: index)..<close].trimmingCharacters(in: .whitespaces)
                if inner.hasPrefix("$.") { inner.removeFirst(2) }
                if roots.contains(where: { inner.hasPrefix($0) }) {
                    if !literal.isEmpty { parts.append(.literal(literal)) }
                    literal = ""
                    parts.append(.reference("$." + inner, offset: text.distance(from: text.startIndex, to: index)))
                    index = text.index(after: close)
                    continue
                }
            }
            literal.append(character)
            index = text.index(after: index)
        }
        if !literal.isEmpty { parts.append(.literal(literal)) }
        return parts
    }
}

/// A condition expression as written: `$.steps.Evaluate.outputs.report.regression_metrics.r2.value >= 0.2 and …`.
enum ConditionSyntax {
    enum Token: Equatable {
        case reference(String)
        case literal(JSONValue)
        case comparison(Condition.Comparison)
        case and, or, not, open, close
    }

    /// Parses the expression; `resolve` turns reference text into a reference (nil after reporting a problem).
    static func parse(_ text: String, resolve: @escaping (String) -> Reference?) -> Result<
        Condition, ReferenceSyntaxError
    > {
        let tokens: [Token]
        switch tokenize(text) {
        case .success(let parsed): tokens = parsed
        case .failure(let error): return .failure(error)
        }
        var parser = Parser(tokens: tokens, resolve: resolve)
        do {
            let condition = try parser.parseOr()
            guard parser.position == tokens.count else {
                throw ReferenceSyntaxError("unexpected text after the condition")
            }
            return .success(condition)
        } catch let error as ReferenceSyntaxError {
            return .failure(error)
        } catch {
            return .failure(.init("\(error)"))
        }
    }

    static func tokenize(_ text: String) -> Result<[Token], ReferenceSyntaxError> {
        var tokens: [Token] = []
        let characters = Array(text)
        var index = 0
        while index < characters.count {
            let character = characters[index]
            if character.isWhitespace {
                index += 1
                continue
            }
            if character == "(" || character == ")" {
                tokens.append(character == "(" ? .open : .close)
                index += 1
                continue
            }
            if character == "$" {
                var end = index
                var quote: Character?
                while end < characters.count {
                    let current = characters[end]
                    if let open = quote {
                        if current == open { quote = nil }
                    } else if current == "'" || current == "\"" {
                        quote = current
                    } else if current.isWhitespace || "()<>=!".contains(current) {
                        break
                    }
                    end += 1
                }
                tokens.append(.reference(String(characters[index..<end])))
                index = end
                continue
            }
            if character == "'" || character == "\"" {
                guard let close = characters[(index + 1)...].firstIndex(of: character) else {
                    return .failure(.init("a quoted string is not closed"))
                }
                tokens.append(.literal(.string(String(characters[(index + 1)..<close]))))
                index = close + 1
                continue
            }
            let two = index + 1 < characters.count ? String(characters[index...(index + 1)]) : ""
            if let comparison = Condition.Comparison(rawValue: two) {
                tokens.append(.comparison(comparison))
                index += 2
                continue
            }
            if two == "&&" || two == "||" {
                tokens.append(two == "&&" ? .and : .or)
                index += 2
                continue
            }
            if character == "<" || character == ">" {
                tokens.append(.comparison(character == "<" ? .less : .greater))
                index += 1
                continue
            }
            if character == "!" {
                tokens.append(.not)
                index += 1
                continue
            }
            var end = index
            while end < characters.count, !characters[end].isWhitespace, !"()<>=!".contains(characters[end]) {
                end += 1
            }
            guard end > index else { return .failure(.init("unexpected '\(character)'")) }
            let word = String(characters[index..<end])
            switch word.lowercased() {
            case "and": tokens.append(.and)
            case "or": tokens.append(.or)
            case "not": tokens.append(.not)
            default:
                let value = SpecNode.resolvePlain(word)
                if case .string = value {
                    return .failure(
                        .init("'\(word)' is neither a reference ($.…), a number, a quoted string nor true/false/null"))
                }
                tokens.append(.literal(value))
            }
            index = end
        }
        return .success(tokens)
    }

    struct Parser {
        let tokens: [Token]
        let resolve: (String) -> Reference?
        var position = 0

        mutating func next() -> Token? {
            guard position < tokens.count else { return nil }
            defer { position += 1 }
            return tokens[position]
        }

        var peek: Token? { position < tokens.count ? tokens[position] : nil }

        mutating func parseOr() throws -> Condition {
            var terms = [try parseAnd()]
            while peek == .or {
                position += 1
                terms.append(try parseAnd())
            }
            return terms.count == 1 ? terms[0] : .or(terms)
        }

        mutating func parseAnd() throws -> Condition {
            var terms = [try parseUnary()]
            while peek == .and {
                position += 1
                terms.append(try parseUnary())
            }
            return terms.count == 1 ? terms[0] : .and(terms)
        }

        mutating func parseUnary() throws -> Condition {
            if peek == .not {
                position += 1
                return .not(try parseUnary())
            }
            if peek == .open {
                position += 1
                let inner = try parseOr()
                guard next() == .close else { throw ReferenceSyntaxError("a '(' is not closed") }
                return inner
            }
            let left = try operand()
            guard case .comparison(let comparison) = peek else {
                return .compare(left, .equal, .literal(.bool(true)))
            }
            position += 1
            return .compare(left, comparison, try operand())
        }

        mutating func operand() throws -> Condition.Operand {
            switch next() {
            case .reference(let text):
                // A reference that fails to resolve has been reported; a placeholder keeps parsing going.
                return .reference(resolve(text) ?? Reference(.execution(.id)))
            case .literal(let value): return .literal(value)
            case nil: throw ReferenceSyntaxError("the condition ends where a value was expected")
            default: throw ReferenceSyntaxError("expected a value (a reference, a number or a quoted string)")
            }
        }
    }
}
