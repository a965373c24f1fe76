/// What starts an execution of a pipeline besides a user: a new file in a folder or a schedule.
public struct Trigger: Hashable, Sendable, Codable {
    public enum Kind: Hashable, Sendable, Codable {
        /// Each new file under `folder` matching `glob` (e.g. `*.csv`) starts one execution.
        case files(folder: String, glob: String?)
        /// An execution every `every` (ISO-8601 duration such as `PT1H`).
        case schedule(every: TimeSpan)
    }

    public var kind: Kind
    /// Parameter values for the executions this trigger starts.
    public var parameters: [String: JSONValue]
    /// For a files trigger: the parameter that receives the new file's path (nil: none).
    public var fileParameter: String?
    public var location: SourceLocation?

    public init(
        kind: Kind, parameters: [String: JSONValue] = [:], fileParameter: String? = nil,
        location: SourceLocation? = nil
    ) {
        self.kind = kind
        self.parameters = parameters
        self.fileParameter = fileParameter
        self.location = location
    }
}
