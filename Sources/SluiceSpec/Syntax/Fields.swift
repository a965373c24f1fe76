import Foundation
import SluiceCore

/// Collects diagnostics for one file and reads typed values out of nodes, reporting every wrong shape.
final class Reporter {
    var diagnostics: [Diagnostic] = []

    func error(_ code: String, _ message: String, at location: SourceLocation, fix: String) {
        diagnostics.append(.error(code, message, at: location, fix: fix))
    }

    func warning(_ code: String, _ message: String, at location: SourceLocation, fix: String) {
        diagnostics.append(.warning(code, message, at: location, fix: fix))
    }

    /// Reports a name that is not among `candidates`, appending "did you mean" with the closest one.
    /// - Parameters:
    ///   - fix: the fix when nothing is close.
    ///   - suggestedFix: the fix given the suggestion (nil: `fix` in every case).
    func unknown(
        _ code: String, _ message: String, name: String, among candidates: some Sequence<String>,
        at location: SourceLocation, fix: String, suggestedFix: ((String) -> String)? = { "write '\($0)'" }
    ) {
        let suggestion = closestMatch(to: name, in: candidates)
        error(
            code, message + (suggestion.map { "; did you mean '\($0)'?" } ?? ""), at: location,
            fix: suggestion.flatMap { suggested in suggestedFix.map { $0(suggested) } } ?? fix)
    }

    func badValue(_ node: SpecNode, _ what: String, expected: String) {
        error(
            "bad-value", "\(what) must be \(expected), not \(node.shapeName)", at: node.location,
            fix: "write \(what) as \(expected)")
    }

    /// A mapping's entries as fields, or nil (reported) when the node is not a mapping.
    func fields(_ node: SpecNode, _ what: String) -> Fields? {
        guard let entries = node.entries else {
            badValue(node, what, expected: "a mapping")
            return nil
        }
        return Fields(node: node, entries: entries, what: what)
    }

    func string(_ node: SpecNode?, _ what: String) -> String? {
        guard let node else { return nil }
        switch node.value {
        case .scalar(let text, _):
            if case .null = node.json {
                badValue(node, what, expected: "a string")
                return nil
            }
            return text
        default:
            badValue(node, what, expected: "a string")
            return nil
        }
    }

    /// A list of names; a single scalar is read as a list of one.
    func names(_ node: SpecNode?, _ what: String) -> [(String, SourceLocation)] {
        guard let node else { return [] }
        if let items = node.items {
            return items.compactMap { item in string(item, what).map { ($0, item.location) } }
        }
        if case .null = node.json { return [] }
        return string(node, what).map { [($0, node.location)] } ?? []
    }

    func int(_ node: SpecNode?, _ what: String, minimum: Int = 0) -> Int? {
        guard let node else { return nil }
        guard case .int(let value) = node.json, value >= minimum else {
            badValue(node, what, expected: "an integer of at least \(minimum)")
            return nil
        }
        return value
    }

    func double(_ node: SpecNode?, _ what: String) -> Double? {
        guard let node else { return nil }
        guard let value = node.json.number, value.isFinite, value >= 0 else {
            badValue(node, what, expected: "a non-negative number")
            return nil
        }
        return value
    }

    func bool(_ node: SpecNode?, _ what: String) -> Bool? {
        guard let node else { return nil }
        guard case .bool(let value) = node.json else {
            badValue(node, what, expected: "true or false")
            return nil
        }
        return value
    }

    /// An ISO-8601 duration (`PT30S`, `P90D`) or a number of seconds.
    func duration(_ node: SpecNode?, _ what: String) -> TimeSpan? {
        guard let node else { return nil }
        let text: String? =
            switch node.json {
            case .int(let value): String(value)
            case .double(let value): String(value)
            case .string(let value): value
            default: nil
            }
        guard let text, let span = TimeSpan(iso8601: text) else {
            error(
                "bad-duration", "\(what) '\(node.scalarText ?? node.shapeName)' is not a duration", at: node.location,
                fix: "write an ISO-8601 duration such as PT30S, PT5M, P90D, or a number of seconds")
            return nil
        }
        return span
    }
}

/// The entries of a mapping, looked up by name regardless of spelling style (`ModuleId`, `module_id`, `moduleId`).
struct Fields {
    let node: SpecNode
    let entries: [SpecNode.Entry]
    /// What the mapping is, for messages: `step 'Train'`, `module input 'x'`.
    let what: String
    /// `canonical(key)` of each entry, in order.
    private let canonicalKeys: [String]

    init(node: SpecNode, entries: [SpecNode.Entry], what: String) {
        self.node = node
        self.entries = entries
        self.what = what
        self.canonicalKeys = entries.map { Self.canonical($0.key) }
    }

    /// Lowercased with `_` and `-` removed, so Step Functions' and snake_case spellings meet.
    static func canonical(_ key: String) -> String {
        String(key.lowercased().filter { $0 != "_" && $0 != "-" })
    }

    func entry(_ name: String) -> SpecNode.Entry? {
        let wanted = Self.canonical(name)
        return canonicalKeys.firstIndex(of: wanted).map { entries[$0] }
    }

    subscript(_ names: String...) -> SpecNode? {
        for name in names { if let entry = entry(name) { return entry.value } }
        return nil
    }

    func has(_ name: String) -> Bool { entry(name) != nil }

    /// Reports every key not in `allowed` (spelled as documented), suggesting the closest allowed key.
    /// `inapplicable` maps canonical keys that are known but out of place to why, and how to fix it.
    func checkKeys(
        _ allowed: [String], reporter: Reporter, inapplicable: [String: (reason: String, fix: String?)] = [:]
    ) {
        let canonicalAllowed = Dictionary(allowed.map { (Self.canonical($0), $0) }, uniquingKeysWith: { a, _ in a })
        var seen: [String: String] = [:]
        for (entry, canonical) in zip(entries, canonicalKeys) {
            if let known = canonicalAllowed[canonical] {
                if let first = seen[canonical] {
                    reporter.error(
                        "duplicate-key", "'\(entry.key)' repeats '\(first)' in \(what)", at: entry.keyLocation,
                        fix: "keep one '\(known)' entry")
                }
                seen[canonical] = entry.key
                continue
            }
            if let (reason, fix) = inapplicable[canonical] {
                reporter.error(
                    "unknown-key", "'\(entry.key)' does not apply to \(what): \(reason)", at: entry.keyLocation,
                    fix: fix ?? "remove '\(entry.key)'")
                continue
            }
            let suggestion = closestMatch(to: canonical, in: canonicalAllowed.keys).flatMap { canonicalAllowed[$0] }
            let hint = suggestion.map { "; did you mean '\($0)'?" } ?? ""
            reporter.error(
                "unknown-key", "unknown key '\(entry.key)' in \(what)\(hint)", at: entry.keyLocation,
                fix: suggestion.map { "rename it to '\($0)'" }
                    ?? "remove it; allowed keys: \(allowed.joined(separator: ", "))")
        }
    }
}

/// Whether `text` is a UUID such as `123e4567-e89b-12d3-a456-426614174000`.
func isUUID(_ text: String) -> Bool { UUID(uuidString: text) != nil }
