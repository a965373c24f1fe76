public import Foundation
public import SluiceCore

/// What `sluice aws` does with an exported pipeline: deploy its state machine, start it, follow an execution and
/// answer its approvals.
public struct StepFunctionsRunner: Sendable {
    public let client: StepFunctionsClient
    /// Creates the functions of Lambda modules from their handler files; nil when no one asked.
    public let functions: LambdaClient?

    public init(client: StepFunctionsClient, functions: LambdaClient? = nil) {
        self.client = client
        self.functions = functions
    }

    /// The state machine name a pipeline deploys as when no stack is named: its name with every character Step
    /// Functions does not allow in names replaced by `-`.
    public static func machineName(for pipeline: Pipeline) -> String { awsName(pipeline.name) }

    /// `text` with every character AWS does not allow in state machine and function names replaced by `-`.
    static func awsName(_ text: String) -> String {
        String(text.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" ? $0 : "-" })
    }

    /// The exported definition with every `${Name}` placeholder replaced by its value.
    /// - Throws: `StepFunctionsError` naming a placeholder without a value, or a value for no placeholder.
    public static func definition(_ export: StepFunctionsExport, values: [String: String]) throws -> String {
        for name in values.keys.sorted() where export.substitutions[name] == nil {
            throw StepFunctionsError(
                message: "--set \(name)=…: the exported machine has no placeholder '\(name)' (it has: "
                    + export.substitutions.keys.sorted().joined(separator: ", ") + ")")
        }
        let missing = export.substitutions.keys.sorted().filter { values[$0] == nil }
        if !missing.isEmpty {
            let list = missing.map { "\($0) (\(export.substitutions[$0]!))" }.joined(separator: "; ")
            throw StepFunctionsError(
                message: "the exported machine needs a value for each placeholder; missing: \(list). Pass "
                    + missing.map { "--set \($0)=VALUE" }.joined(separator: " "))
        }
        var text = export.definition.prettyJSON
        for (name, value) in values {
            // Placeholders sit inside JSON strings: the value goes in escaped, without its own quotes.
            text = text.replacingOccurrences(
                of: "${\(name)}", with: String(JSONValue.quoted(value).dropFirst().dropLast()))
        }
        return text
    }

    /// Creates, or updates, the function of each Lambda module the machine calls whose placeholder has no value yet
    /// and whose module has a handler file (`implementation: lambda: handler.py:main`): named `<machine>-<module>`,
    /// running as `roleArn`. Fills those placeholders with the functions' names.
    /// - Returns: each function's name and whether it was created.
    /// - Throws: `StepFunctionsError`, before anything is created, when another placeholder has no value or a
    ///   function is to be created and no role is given.
    public func deployFunctions(
        _ export: StepFunctionsExport, pipeline: Pipeline, machine: String, roleArn: String?,
        values: inout [String: String]
    ) async throws -> [(name: String, created: Bool)] {
        guard let functions else { return [] }
        var planned: [(module: String, name: String, package: FunctionPackage)] = []
        var filled = values
        for (placeholder, moduleName) in export.functionModules.sorted(by: { $0.key < $1.key })
        where values[placeholder] == nil {
            guard let module = pipeline.modules[moduleName], let package = try FunctionPackage(module: module) else {
                continue
            }
            let name = String(Self.awsName("\(machine)-\(moduleName)").prefix(64))
            planned.append((moduleName, name, package))
            filled[placeholder] = name
        }
        _ = try Self.definition(export, values: filled)
        guard let roleArn else {
            guard let first = planned.first else { return [] }
            throw StepFunctionsError(
                message: "module '\(first.module)' runs as a Lambda function that deploy creates from its handler "
                    + "(\(first.package.handler)): give --function-role ARN (a role Lambda can assume), or name a "
                    + "function that exists with --set "
                    + (export.functionModules.first { $0.value == first.module }?.key ?? "Function…") + "=NAME")
        }
        var deployed: [(name: String, created: Bool)] = []
        for function in planned {
            let (_, created) = try await functions.createOrUpdate(
                name: function.name, package: function.package, roleArn: roleArn)
            deployed.append((function.name, created))
        }
        values = filled
        return deployed
    }

    /// What `deploy` did.
    public struct Deployment: Sendable {
        /// The state machine's ARN.
        public var arn: String
        /// Whether the machine was created (else updated).
        public var created: Bool
        /// The artifact bucket, when deploy created it.
        public var createdBucket: String?
        /// The objects the local files and folders the machine reads were uploaded to.
        public var uploaded: [ObjectURI]
        /// Local paths the machine reads that do not exist (a folder where files land later, say), each with the
        /// object the machine reads instead: nothing was uploaded there.
        public var absent: [(path: String, uri: ObjectURI)]
    }

    /// Creates the artifact bucket (`values["ArtifactBucket"]`) in `store` unless it exists,
    /// uploads the local files and folders the machine reads there, then creates or updates the state machine
    /// `name` with the filled-in definition.
    /// - Parameter store: where `s3://` objects go (the configured S3 API).
    public func deploy(
        _ export: StepFunctionsExport, name: String, roleArn: String, values: [String: String],
        store: any ObjectStore
    ) async throws -> Deployment {
        let definition = try Self.definition(export, values: values)
        var uploaded: [ObjectURI] = []
        var absent: [(path: String, uri: ObjectURI)] = []
        var createdBucket: String?
        if let bucket = values["ArtifactBucket"] {
            if try await store.createBucketIfAbsent(bucket) { createdBucket = bucket }
            for (path, key) in export.uploads.sorted(by: { $0.value < $1.value }) {
                let uri = ObjectURI(bucket: bucket, key: key)
                guard FileManager.default.fileExists(atPath: path) else {
                    absent.append((path, uri))
                    continue
                }
                try await store.publish(path, to: uri)
                uploaded.append(uri)
            }
        }
        let (arn, created) = try await client.createOrUpdateStateMachine(
            name: name, definition: definition, roleArn: roleArn)
        return Deployment(
            arn: arn, created: created, createdBucket: createdBucket, uploaded: uploaded, absent: absent)
    }

    /// Starts the deployed machine `machine` with `input` (the parameters, merged over the defaults by the
    /// machine); returns the execution ARN.
    public func start(machine: String, executionName: String, input: [String: JSONValue]) async throws -> String {
        guard let arn = try await client.stateMachineArn(named: machine) else {
            throw StepFunctionsError(
                type: "StateMachineDoesNotExist",
                message: "no state machine '\(machine)' at the configured endpoint: deploy it first with "
                    + "`sluice aws deploy PIPELINE --stack \(machine) …`")
        }
        return try await client.startExecution(stateMachineArn: arn, name: executionName, input: .object(input))
    }

    /// Draws the execution's history: once, or (`follow`) as it happens until the execution ends.
    /// - Parameters:
    ///   - pollInterval: the pause between two reads of the history while following.
    ///   - emit: receives each line as soon as it is known.
    /// - Returns: the execution's state after the last line.
    public func status(
        of executionArn: String, follow: Bool, pollInterval: Duration = .milliseconds(500),
        emit: (String) -> Void
    ) async throws -> ExecutionDescription {
        var timeline = ExecutionTimeline(executionArn: executionArn)
        while true {
            // Described before the history is read, so an execution seen ended has its whole history drawn.
            let description = try await client.describeExecution(executionArn)
            for line in timeline.lines(for: try await client.history(executionArn)) { emit(line) }
            if !follow || !description.isRunning { return description }
            try await Task.sleep(for: pollInterval)
        }
    }

    /// Approves or rejects the approval step `step` that the execution waits at (its task token is read from the
    /// execution's history).
    /// - Throws: `StepFunctionsError` when the execution has ended or the step is not waiting.
    public func decide(executionArn: String, step: String, approve: Bool, reason: String?) async throws {
        let description = try await client.describeExecution(executionArn)
        guard description.isRunning else {
            throw StepFunctionsError(
                message: "execution \(executionArn) is \(description.status); nothing waits for approval there")
        }
        let events = try await client.history(executionArn)
        let requests = events.compactMap(ApprovalRequest.init)
        guard let request = requests.last(where: { $0.step == step }) else {
            let waiting = Set(requests.compactMap(\.step)).sorted()
            throw StepFunctionsError(
                message: "step '\(step)' of execution \(executionArn) has not asked for approval"
                    + (waiting.isEmpty
                        ? " (no step has yet)" : " (steps that have: \(waiting.joined(separator: ", ")))"))
        }
        try await decide(token: request.token, approve: approve, reason: reason)
    }

    /// Resumes (approve) or fails (reject) the task waiting at `token`, as the exported approval callback does.
    public func decide(token: String, approve: Bool, reason: String?) async throws {
        if approve {
            try await client.sendTaskSuccess(token: token, output: ["approved": true])
        } else {
            try await client.sendTaskFailure(
                token: token, error: "Sluice.ApprovalRejected", cause: reason ?? "Rejected with sluice aws reject")
        }
    }
}
