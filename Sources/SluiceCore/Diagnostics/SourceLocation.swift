/// A place in a spec file: 1-based line and column, as editors and compilers count them.
@MemberwiseInit
public struct SourceLocation: Hashable, Sendable, Codable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var column: Int

    /// `file:line:column`, the form every compiler and editor understands.
    public var description: String { "\(file):\(line):\(column)" }
}
