/// A pipeline run asked for over HTTP.
@MemberwiseInit
public struct ExecutionSubmission: Sendable, Hashable {
    /// The pipeline file, absolute or relative to the server's working folder.
    public var pipeline: String
    /// Parameter overrides by name.
    public var parameters: [String: JSONValue] = [:]
}

/// Why a submission was refused: the pipeline does not validate, a parameter is wrong, a module cannot run here.
public struct SubmissionError: Error, Hashable, Sendable, CustomStringConvertible {
    /// One line saying what was wrong and how to fix it.
    public var message: String
    /// The pipeline's diagnostics (`file:line:column: error: …`), when it did not validate.
    public var diagnostics: [String]

    /// Creates an error.
    public init(_ message: String, diagnostics: [String] = []) {
        self.message = message
        self.diagnostics = diagnostics
    }

    public var description: String { message }
}

/// The engine as the server hosts it: runs submitted pipelines and reports on executions.
///
/// A conformer validates and records a submission before returning its id (durable before visible), drives it in
/// the background within the server's process, and answers status from the store, so executions started by
/// `sluice run` are visible too. Refusals throw `SubmissionError`; other errors are infrastructure faults.
public protocol ExecutionHost: Sendable {
    /// Validates, records and starts an execution.
    /// - Returns: the new execution's id.
    func submit(_ submission: ExecutionSubmission) async throws -> String
    /// An execution's status and steps as JSON, or nil when no execution has this id.
    func execution(id: String) async throws -> JSONValue?
}
