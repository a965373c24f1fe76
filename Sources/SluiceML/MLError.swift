/// A problem with a user's data or options, located as precisely as Sluice can (file, 1-based line, column).
public struct MLError: Error, Hashable, Sendable, CustomStringConvertible {
    /// A stable kind for `catch` rules and tests.
    public enum Kind: String, Sendable, Hashable {
        case io, emptyFile, raggedRow, notNumeric, missingColumn, allMissing, singularMatrix, invalidOption
        case unknownVersion, invalidModel, shapeMismatch, nonFinite
    }

    public var kind: Kind
    /// What went wrong and how to fix it.
    public var message: String
    public var file: String?
    /// 1-based line number as an editor shows it (the header is line 1).
    public var line: Int?
    /// The column name (or 1-based index when the file has no header).
    public var column: String?

    public init(_ kind: Kind, _ message: String, file: String? = nil, line: Int? = nil, column: String? = nil) {
        self.kind = kind
        self.message = message
        self.file = file
        self.line = line
        self.column = column
    }

    public var description: String {
        var location = ""
        if let file { location += file }
        if let line { location += (location.isEmpty ? "line " : ":") + "\(line)" }
        if let column { location += (location.isEmpty ? "" : ", ") + "column '\(column)'" }
        return location.isEmpty ? message : "\(location): \(message)"
    }
}
