/// What starts an execution of a pipeline besides a user: a new file in a folder, a schedule, or a registry event.
@MemberwiseInit
public struct Trigger: Hashable, Sendable, Codable {
    public enum Kind: Hashable, Sendable, Codable {
        /// Each new file under `folder` matching `glob` (e.g. `*.csv`) starts one execution.
        case files(folder: String, glob: String?)
        /// An execution every `every` (ISO-8601 duration such as `PT1H`).
        case schedule(every: TimeSpan)
        /// An execution per firing of an EventBridge expression: `rate(5 minutes)` or `cron(0 12 * * ? *)` (UTC).
        case expression(String)
        /// An execution per model version of `group` that is registered, or approved.
        case registry(event: RegistryEvent, group: String)
    }

    /// The registry events a trigger can wait for.
    public enum RegistryEvent: String, Hashable, Sendable, Codable, CaseIterable {
        case modelApproved = "model_approved"
        case modelRegistered = "model_registered"
    }

    public var kind: Kind
    /// Parameter values for the executions this trigger starts.
    public var parameters: [String: JSONValue] = [:]
    /// The parameter that receives what fired: a files trigger's file path, a registry trigger's `Group/N`.
    public var fileParameter: String?
    public var location: SourceLocation?

    /// The schedule of an `every:` or `schedule:` trigger; nil for the others.
    public var schedule: ScheduleExpression? {
        switch kind {
        case .schedule(let every): .rate(seconds: max(1, Int64(every.seconds.rounded())))
        case .expression(let text): try? ScheduleExpression(parsing: text)
        case .files, .registry: nil
        }
    }

    /// One line saying what fires this trigger (`new files in data/*.csv`, `rate(5 minutes)`).
    public var summary: String {
        switch kind {
        case .files(let folder, let glob): "new files in \(folder)/\(glob ?? "*")"
        case .schedule(let every): "every \(every)"
        case .expression(let text): text
        case .registry(let event, let group): "\(event.rawValue) in \(group)"
        }
    }
}
