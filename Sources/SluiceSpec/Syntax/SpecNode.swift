import SluiceCore
import Yams

/// A YAML or JSON node with its place in the file: the located syntax tree every check reads.
struct SpecNode: Sendable {
    enum Value: Sendable {
        case scalar(String, quoted: Bool)
        case mapping([Entry])
        case sequence([SpecNode])
    }

    struct Entry: Sendable {
        var key: String
        var keyLocation: SourceLocation
        var value: SpecNode
    }

    var value: Value
    var location: SourceLocation

    /// The text of a scalar node, nil for mappings and sequences.
    var scalarText: String? {
        if case .scalar(let text, _) = value { text } else { nil }
    }

    var entries: [Entry]? {
        if case .mapping(let entries) = value { entries } else { nil }
    }

    var items: [SpecNode]? {
        if case .sequence(let items) = value { items } else { nil }
    }

    /// What the node is, for messages: `a string`, `a mapping`, `a list`.
    var shapeName: String {
        switch value {
        case .scalar:
            switch json {
            case .null: "null"
            case .bool: "a boolean"
            case .int, .double: "a number"
            default: "a string"
            }
        case .mapping: "a mapping"
        case .sequence: "a list"
        }
    }

    /// The node as a JSON value, resolving plain scalars as YAML 1.2's core schema does.
    var json: JSONValue {
        switch value {
        case .scalar(let text, let quoted):
            return quoted ? .string(text) : Self.resolvePlain(text)
        case .mapping(let entries):
            var object: [String: JSONValue] = [:]
            for entry in entries { object[entry.key] = entry.value.json }
            return .object(object)
        case .sequence(let items):
            return .array(items.map(\.json))
        }
    }

    static func resolvePlain(_ text: String) -> JSONValue {
        switch text {
        case "", "~", "null", "Null", "NULL": return .null
        case "true", "True", "TRUE": return .bool(true)
        case "false", "False", "FALSE": return .bool(false)
        case ".inf", ".Inf", ".INF", "+.inf": return .double(.infinity)
        case "-.inf", "-.Inf", "-.INF": return .double(-.infinity)
        case ".nan", ".NaN", ".NAN": return .double(.nan)
        default: break
        }
        if let value = Int(text) { return .int(value) }
        if text.hasPrefix("0x"), let value = Int(text.dropFirst(2), radix: 16) { return .int(value) }
        let numeric = text.allSatisfy { $0.isNumber || "+-.eE".contains($0) } && text.contains(where: \.isNumber)
        if numeric, let value = Double(text) { return .double(value) }
        return .string(text)
    }
}

/// Reads spec text into located nodes, reporting syntax errors as diagnostics.
enum SpecReader {
    /// Nesting deeper than this is refused before parsing, so hostile input cannot exhaust the stack.
    static let maxDepth = 64

    /// Parses `text` (YAML or JSON); nil with a `yaml-syntax` diagnostic when it cannot be read.
    static func parse(_ text: String, file: String, diagnostics: inout [Diagnostic]) -> SpecNode? {
        if let line = Self.lineExceedingDepth(text) {
            diagnostics.append(
                .error(
                    "too-deep", "the document nests deeper than \(maxDepth) levels",
                    at: SourceLocation(file: file, line: line, column: 1),
                    fix: "flatten the structure; specs never need this much nesting"))
            return nil
        }
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            diagnostics.append(Self.diagnostic(for: error, file: file))
            return nil
        } catch {
            diagnostics.append(
                .error(
                    "yaml-syntax", "cannot read the file: \(error)", at: SourceLocation(file: file, line: 1, column: 1),
                    fix: "check that the file is UTF-8 YAML or JSON"))
            return nil
        }
        guard let root else {
            diagnostics.append(
                .error(
                    "empty-file", "the file is empty", at: SourceLocation(file: file, line: 1, column: 1),
                    fix: "write a module (name, inputs, outputs) or a pipeline (name, steps)"))
            return nil
        }
        return convert(root, file: file, depth: 0, diagnostics: &diagnostics)
    }

    private static func convert(_ node: Node, file: String, depth: Int, diagnostics: inout [Diagnostic]) -> SpecNode {
        let location = SourceLocation(file: file, line: node.mark?.line ?? 1, column: node.mark?.column ?? 1)
        switch node {
        case .scalar(let scalar):
            let quoted = scalar.style != .plain && scalar.style != .any
            return SpecNode(value: .scalar(scalar.string, quoted: quoted), location: location)
        case .mapping(let mapping):
            var entries: [SpecNode.Entry] = []
            for (key, value) in mapping {
                let keyLocation = SourceLocation(file: file, line: key.mark?.line ?? 1, column: key.mark?.column ?? 1)
                guard let keyText = key.scalar?.string else {
                    diagnostics.append(
                        .error(
                            "bad-value",
                            "a mapping key must be a plain name, not \(key.mapping != nil ? "a mapping" : "a list")",
                            at: keyLocation, fix: "write the key as a name"))
                    continue
                }
                entries.append(
                    .init(
                        key: keyText, keyLocation: keyLocation,
                        value: convert(value, file: file, depth: depth + 1, diagnostics: &diagnostics)))
            }
            return SpecNode(value: .mapping(entries), location: location)
        case .sequence(let sequence):
            let items = sequence.map { convert($0, file: file, depth: depth + 1, diagnostics: &diagnostics) }
            return SpecNode(value: .sequence(items), location: location)
        case .alias:
            diagnostics.append(
                .error(
                    "yaml-syntax", "YAML aliases are not supported in specs", at: location, fix: "write the value out"))
            return SpecNode(value: .scalar("", quoted: false), location: location)
        }
    }

    private static func diagnostic(for error: YamlError, file: String) -> Diagnostic {
        func at(_ mark: Mark) -> SourceLocation { SourceLocation(file: file, line: mark.line, column: mark.column) }
        let fix = "fix the YAML syntax at this position (indentation, a missing ':' or closing quote or bracket)"
        switch error {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
            .composer(let context, let problem, let mark, _):
            let detail = context.map { "\(problem) (\($0.text))" } ?? problem
            return .error("yaml-syntax", "invalid YAML: \(detail)", at: at(mark), fix: fix)
        case .duplicatedKeysInMapping(let duplicates, let context):
            return .error(
                "duplicate-key", "the key '\(duplicates.first ?? "?")' appears more than once in this mapping",
                at: at(context.mark), fix: "keep one entry per key")
        case .reader(let problem, _, _, _):
            return .error(
                "yaml-syntax", "cannot read the file: \(problem)", at: SourceLocation(file: file, line: 1, column: 1),
                fix: "save the file as UTF-8 without control characters")
        default:
            return .error(
                "yaml-syntax", "invalid YAML: \(error)", at: SourceLocation(file: file, line: 1, column: 1), fix: fix)
        }
    }

    /// The first line where flow brackets or block indentation nest deeper than `maxDepth`, if any.
    static func lineExceedingDepth(_ text: String) -> Int? {
        // Bytes, not characters: every byte that matters here is ASCII, and this runs on every file.
        var text = text
        return text.withUTF8 { bytes -> Int? in
            var line = 1
            var flow = 0
            var quote: UInt8 = 0
            var atLineStart = true
            var blockDepth = 0
            var previous: UInt8 = 0x20
            for byte in bytes {
                let afterSeparator =
                    previous == 0x20 || previous == 0x5B || previous == 0x7B || previous == 0x2C
                    || previous == 0x3A
                previous = byte
                if byte == 0x0A {
                    line += 1
                    atLineStart = true
                    blockDepth = 0
                    quote = 0
                    continue
                }
                if quote != 0 {
                    if byte == quote { quote = 0 }
                    continue
                }
                if atLineStart {
                    if byte == 0x20 || byte == 0x2D {  // space, dash
                        blockDepth += byte == 0x2D ? 2 : 1
                        if blockDepth > maxDepth * 4 { return line }
                        continue
                    }
                    atLineStart = false
                }
                switch byte {
                case 0x5B, 0x7B:  // [ {
                    flow += 1
                    if flow > maxDepth { return line }
                case 0x5D, 0x7D: flow = max(0, flow - 1)  // ] }
                case 0x22, 0x27: if afterSeparator { quote = byte }  // " '
                case 0x23: if afterSeparator { quote = 0x0A }  // # starts a comment
                default: break
                }
            }
            return nil
        }
    }
}
