import Foundation
public import SluiceCore

/// Names and text forms shared by the Step Functions and SageMaker exports.
enum ExportNames {
    /// A key safe in a JSONPath dot segment and in a CloudFormation logical id part: letters, digits, `_`.
    static func key(_ name: String) -> String {
        let mapped = name.unicodeScalars.map { scalar -> Character in
            CharacterSet.alphanumerics.contains(scalar) && scalar.isASCII ? Character(scalar) : "_"
        }
        let text = String(mapped)
        return text.first?.isNumber == true || text.isEmpty ? "_" + text : text
    }

    /// CamelCase letters and digits only, for CloudFormation logical ids and substitution names.
    static func logicalID(_ name: String) -> String {
        var result = ""
        var upperNext = true
        for character in name {
            guard character.isASCII, character.isLetter || character.isNumber else {
                upperNext = true
                continue
            }
            result += upperNext ? character.uppercased() : String(character)
            upperNext = false
        }
        return result.isEmpty ? "Step" : result
    }

    /// A lower-case, dash-separated prefix of at most `limit` characters, for SageMaker job and model names.
    static func jobPrefix(_ name: String, limit: Int = 12) -> String {
        var result = ""
        for character in name.lowercased() {
            if character.isASCII, character.isLetter || character.isNumber {
                result.append(character)
            } else if result.last != "-", !result.isEmpty {
                result.append("-")
            }
        }
        while result.hasSuffix("-") { result.removeLast() }
        let prefix = String(result.prefix(limit))
        return prefix.hasSuffix("-") ? String(prefix.dropLast()) : (prefix.isEmpty ? "step" : prefix)
    }
}

/// JSONPath text for the state document the exported machine carries.
enum StatePath {
    /// `.name` when it is a plain identifier, `['name']` otherwise.
    static func segment(_ name: String) -> String {
        let plain =
            !name.isEmpty && name.first.map { $0.isLetter || $0 == "_" } == true
            && name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }
        return plain ? ".\(name)" : "['\(name.replacingOccurrences(of: "'", with: "\\'"))']"
    }

    static func components(_ path: [PathComponent]) -> String {
        path.map { component in
            switch component {
            case .key(let key): segment(key)
            case .index(let index): "[\(index)]"
            }
        }.joined()
    }

    static func parameter(_ name: String) -> String { "$.parameters" + segment(name) }

    static func stepOutputs(_ step: String) -> String { "$.steps.\(ExportNames.key(step)).outputs" }

    static func stepOutput(_ step: String, _ output: String) -> String { stepOutputs(step) + segment(output) }
}

/// Text of Step Functions intrinsic-function arguments.
enum Intrinsic {
    /// `States.Format('…{}…', a, b)` from literal pieces and argument expressions (already in path form).
    static func format(_ pieces: [FormatPiece]) -> String {
        var template = ""
        var arguments: [String] = []
        for piece in pieces {
            switch piece {
            case .text(let text): template += text
            case .argument(let expression):
                template += "{}"
                arguments.append(expression)
            }
        }
        var escaped = ""
        for character in template {
            if "'\\".contains(character) { escaped.append("\\") }
            escaped.append(character)
        }
        return "States.Format('\(escaped)'" + arguments.map { ", \($0)" }.joined() + ")"
    }

    enum FormatPiece {
        case text(String)
        case argument(String)
    }
}

extension JSONValue {
    /// Pretty JSON with sorted keys and a final newline, the form export files are written in. A whole Float keeps
    /// its point (`2.0`), as Step Functions' checkers expect for fields such as `BackoffRate`.
    public var prettyJSON: String {
        var text = ""
        writeJSON(into: &text, indent: 0)
        return text + "\n"
    }

    /// A number as JSON text; a whole `Double` keeps `.0`.
    static func number(_ value: Double) -> String {
        if value == value.rounded(), abs(value) < 1e15 { return "\(Int(value)).0" }
        return "\(value)"
    }

    private func writeJSON(into text: inout String, indent: Int) {
        let pad = String(repeating: "  ", count: indent + 1)
        let closing = String(repeating: "  ", count: indent)
        switch self {
        case .null: text += "null"
        case .bool(let flag): text += flag ? "true" : "false"
        case .int(let number): text += String(number)
        case .double(let number): text += Self.number(number)
        case .string(let string): text += Self.quoted(string)
        case .array(let items):
            guard !items.isEmpty else {
                text += "[]"
                return
            }
            text += "[\n"
            for (index, item) in items.enumerated() {
                text += pad
                item.writeJSON(into: &text, indent: indent + 1)
                text += index + 1 < items.count ? ",\n" : "\n"
            }
            text += closing + "]"
        case .object(let members):
            guard !members.isEmpty else {
                text += "{}"
                return
            }
            text += "{\n"
            let keys = members.keys.sorted()
            for (index, key) in keys.enumerated() {
                text += pad + Self.quoted(key) + ": "
                members[key]!.writeJSON(into: &text, indent: indent + 1)
                text += index + 1 < keys.count ? ",\n" : "\n"
            }
            text += closing + "}"
        }
    }

    /// Block-style YAML: mappings and sequences indented by two spaces, every string double-quoted (JSON escapes are
    /// valid YAML), keys sorted except where `keyOrder` lists the first ones of a mapping.
    public func yaml(keyOrder: [String] = []) -> String {
        var lines: [String] = []
        YAMLWriter(keyOrder: keyOrder).write(self, indent: 0, into: &lines)
        return lines.joined(separator: "\n") + "\n"
    }
}

private struct YAMLWriter {
    let keyOrder: [String]

    func scalar(_ value: JSONValue) -> String? {
        switch value {
        case .null: "null"
        case .bool(let flag): flag ? "true" : "false"
        case .int(let number): String(number)
        case .double(let number): JSONValue.number(number)
        case .string(let text): JSONValue.quoted(text)
        case .array(let items) where items.isEmpty: "[]"
        case .object(let members) where members.isEmpty: "{}"
        case .array, .object: nil
        }
    }

    func orderedKeys(_ members: [String: JSONValue]) -> [String] {
        let first = keyOrder.filter { members[$0] != nil }
        return first + members.keys.filter { !first.contains($0) }.sorted()
    }

    func key(_ text: String) -> String {
        let plain =
            !text.isEmpty && text.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "_-.:".contains($0)) }
        return plain && !text.hasPrefix("-") ? text : JSONValue.quoted(text)
    }

    func write(_ value: JSONValue, indent: Int, into lines: inout [String]) {
        let pad = String(repeating: " ", count: indent)
        switch value {
        case .object(let members) where !members.isEmpty:
            for name in orderedKeys(members) {
                let member = members[name]!
                if let text = scalar(member) {
                    lines.append("\(pad)\(key(name)): \(text)")
                } else {
                    lines.append("\(pad)\(key(name)):")
                    write(member, indent: indent + 2, into: &lines)
                }
            }
        case .array(let items) where !items.isEmpty:
            for item in items {
                if let text = scalar(item) {
                    lines.append("\(pad)- \(text)")
                } else {
                    var nested: [String] = []
                    write(item, indent: indent + 2, into: &nested)
                    guard let first = nested.first else { continue }
                    lines.append("\(pad)- " + first.dropFirst(indent + 2))
                    lines += nested.dropFirst()
                }
            }
        default:
            lines.append(pad + (scalar(value) ?? "null"))
        }
    }
}
