/// One problem found in a spec: what is wrong, where, and how to fix it.
///
/// Diagnostics are collected, never thrown one at a time, so a user sees every problem of a file at once.
public struct Diagnostic: Hashable, Sendable, Codable, CustomStringConvertible {
    public enum Severity: String, Hashable, Sendable, Codable {
        case error, warning, note
    }

    /// A stable identifier such as `unknown-key`, safe to match on in scripts and golden files.
    public var code: String
    public var severity: Severity
    public var message: String
    public var location: SourceLocation?
    /// One line telling the user what to change.
    public var fix: String?

    public init(
        _ severity: Severity, code: String, _ message: String, at location: SourceLocation? = nil,
        fix: String? = nil
    ) {
        self.severity = severity
        self.code = code
        self.message = message
        self.location = location
        self.fix = fix
    }

    public static func error(
        _ code: String, _ message: String, at location: SourceLocation? = nil, fix: String? = nil
    ) -> Diagnostic {
        Diagnostic(.error, code: code, message, at: location, fix: fix)
    }

    public static func warning(
        _ code: String, _ message: String, at location: SourceLocation? = nil, fix: String? = nil
    ) -> Diagnostic {
        Diagnostic(.warning, code: code, message, at: location, fix: fix)
    }

    /// Compiler style: `file:line:column: error: message [code]`, then `  fix: …` on its own line.
    public var description: String {
        var text = location.map { "\($0): " } ?? ""
        text += "\(severity.rawValue): \(message) [\(code)]"
        if let fix { text += "\n  fix: \(fix)" }
        return text
    }
}

extension Sequence<Diagnostic> {
    /// True when any diagnostic is an error (warnings alone do not fail validation).
    public var hasErrors: Bool { contains { $0.severity == .error } }
}

/// Suggests the closest candidate to a misspelt name, or nil when none is close enough to help.
///
/// Candidates are ranked by `editDistance` (a swap of two neighbours counts as one edit, so `cahce` is closer to
/// `cache` than to `catch`); ties go to the alphabetically first, so the answer never depends on candidate order.
public func closestMatch(to name: String, in candidates: some Sequence<String>) -> String? {
    let lowered = name.lowercased()
    var best: (name: String, distance: Int)?
    for candidate in candidates where candidate != name {
        let limit = max(2, min(name.count, candidate.count) / 3)
        // The distance is at least the difference in length: skip the quadratic work when that is already too far.
        guard abs(lowered.count - candidate.count) <= limit else { continue }
        let distance = editDistance(lowered, candidate.lowercased())
        guard distance <= limit else { continue }
        if let current = best, (current.distance, current.name) <= (distance, candidate) { continue }
        best = (candidate, distance)
    }
    return best?.name
}

/// The optimal-string-alignment distance over characters: insertions, deletions, substitutions and swaps of two
/// neighbouring characters each count as one edit.
public func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a)
    let b = Array(b)
    if a.isEmpty { return b.count }
    if b.isEmpty { return a.count }
    var beforePrevious = [Int](repeating: 0, count: b.count + 1)
    var previous = Array(0...b.count)
    var current = [Int](repeating: 0, count: b.count + 1)
    for i in 1...a.count {
        current[0] = i
        for j in 1...b.count {
            let substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)
            current[j] = min(previous[j] + 1, current[j - 1] + 1, substitution)
            if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                current[j] = min(current[j], beforePrevious[j - 2] + 1)
            }
        }
        (beforePrevious, previous, current) = (previous, current, beforePrevious)
    }
    return previous[b.count]
}
