public import Foundation
public import SluiceCore

/// An error answer from Step Functions, or an answer Sluice could not read.
public struct StepFunctionsError: MessageError, Sendable {
    public static let code = "step-functions"
    /// The error type AWS names (`StateMachineDoesNotExist`, `ExecutionAlreadyExists`), empty when unknown.
    public var type: String
    public var text: String
    public var description: String { text }

    public init(type: String = "", message: String) {
        self.type = type
        text = message
    }
}

/// The state of one execution, from `DescribeExecution`.
public struct ExecutionDescription: Sendable, Equatable {
    /// `RUNNING`, `SUCCEEDED`, `FAILED`, `TIMED_OUT` or `ABORTED`.
    public var status: String
    public var name: String
    public var stateMachineArn: String
    public var error: String?
    public var cause: String?
    /// The execution's output document, once it has succeeded.
    public var output: JSONValue?

    public var isRunning: Bool { status == "RUNNING" || status == "PENDING_REDRIVE" }
}

/// One event of an execution's history, as `GetExecutionHistory` gives it.
public struct HistoryEvent: Sendable, Equatable {
    public var id: Int
    public var previousID: Int?
    /// `TaskStateEntered`, `TaskScheduled`, `ExecutionSucceeded`, … .
    public var type: String
    /// The whole event, details included.
    public var fields: JSONValue

    public init(_ fields: JSONValue) {
        self.fields = fields
        id = fields["id"]?.number.map { Int($0) } ?? 0
        previousID = fields["previousEventId"]?.number.map { Int($0) }
        type = fields["type"]?.string ?? ""
    }

    /// The member of the event holding its details (`stateEnteredEventDetails`, `taskFailedEventDetails`, …).
    public var details: JSONValue? {
        fields.object?.first { $0.key.hasSuffix("EventDetails") }?.value
    }
}

/// Step Functions' API (JSON 1.0 protocol) over `AWSHTTPClient`: the calls behind `sluice aws`.
public struct StepFunctionsClient: Sendable {
    let http: AWSHTTPClient

    /// A client for the configured Step Functions endpoint (`AWS_ENDPOINT_URL_SFN`, `AWS_ENDPOINT_URL`, else AWS).
    /// - Throws: `AWSConfigurationError` for an endpoint this client cannot reach.
    public init(configuration: AWSConfiguration, now: @escaping @Sendable () -> Date = { Date() }) throws {
        http = try AWSHTTPClient(
            configuration: configuration, serviceID: "SFN", signingName: "states", hostPrefix: "states", now: now)
    }

    /// Calls one operation (`CreateStateMachine`, …) with a JSON body and returns the JSON answer.
    /// - Throws: `StepFunctionsError` with AWS's error type and message for an error answer.
    public func call(_ operation: String, _ body: JSONValue) async throws -> JSONValue {
        let request = AWSRequest(
            method: "POST", path: "/",
            headers: [
                ("Content-Type", "application/x-amz-json-1.0"), ("X-Amz-Target", "AWSStepFunctions.\(operation)"),
            ])
        let response = try await http.send(request, body: Array(body.canonicalJSON.utf8))
        let answer = try? JSONDecoder().decode(JSONValue.self, from: Data(response.body))
        guard (200..<300).contains(response.status) else {
            let type = (answer?["__type"]?.string ?? "").split(separator: "#").last.map(String.init) ?? ""
            let message = answer?["message"]?.string ?? answer?["Message"]?.string ?? response.text
            throw StepFunctionsError(
                type: type,
                message: "\(operation) at \(http.location): HTTP \(response.status) \(type): \(message)")
        }
        guard let answer else {
            throw StepFunctionsError(
                message: "\(operation) at \(http.location): the answer is not JSON: "
                    + String(response.text.prefix(200)))
        }
        return answer
    }

    /// The ARN of the state machine called `name`, or nil when there is none.
    public func stateMachineArn(named name: String) async throws -> String? {
        var token: String?
        repeat {
            var body: [String: JSONValue] = ["maxResults": 1000]
            if let token { body["nextToken"] = .string(token) }
            let page = try await call("ListStateMachines", .object(body))
            if let found = page["stateMachines"]?.array?.first(where: { $0["name"]?.string == name }) {
                return found["stateMachineArn"]?.string
            }
            token = page["nextToken"]?.string
        } while token != nil
        return nil
    }

    /// Creates the state machine `name`, or updates its definition and role when it exists.
    /// - Returns: its ARN and whether it was created.
    public func createOrUpdateStateMachine(name: String, definition: String, roleArn: String) async throws -> (
        arn: String, created: Bool
    ) {
        if let arn = try await stateMachineArn(named: name) {
            _ = try await call(
                "UpdateStateMachine",
                ["stateMachineArn": .string(arn), "definition": .string(definition), "roleArn": .string(roleArn)])
            return (arn, false)
        }
        let answer = try await call(
            "CreateStateMachine",
            ["name": .string(name), "definition": .string(definition), "roleArn": .string(roleArn)])
        guard let arn = answer["stateMachineArn"]?.string else {
            throw StepFunctionsError(message: "CreateStateMachine at \(http.location) answered without an ARN")
        }
        return (arn, true)
    }

    /// Starts an execution called `name` with `input`; returns its ARN.
    public func startExecution(stateMachineArn: String, name: String, input: JSONValue) async throws -> String {
        let answer = try await call(
            "StartExecution",
            ["stateMachineArn": .string(stateMachineArn), "name": .string(name), "input": .string(input.canonicalJSON)])
        guard let arn = answer["executionArn"]?.string else {
            throw StepFunctionsError(message: "StartExecution at \(http.location) answered without an ARN")
        }
        return arn
    }

    public func describeExecution(_ executionArn: String) async throws -> ExecutionDescription {
        let answer = try await call("DescribeExecution", ["executionArn": .string(executionArn)])
        let output = answer["output"]?.string.flatMap { try? JSONDecoder().decode(JSONValue.self, from: Data($0.utf8)) }
        return ExecutionDescription(
            status: answer["status"]?.string ?? "", name: answer["name"]?.string ?? "",
            stateMachineArn: answer["stateMachineArn"]?.string ?? "", error: answer["error"]?.string,
            cause: answer["cause"]?.string, output: output)
    }

    /// Every event of the execution's history so far, oldest first.
    public func history(_ executionArn: String) async throws -> [HistoryEvent] {
        var events: [HistoryEvent] = []
        var token: String?
        repeat {
            var body: [String: JSONValue] = ["executionArn": .string(executionArn), "maxResults": 1000]
            if let token { body["nextToken"] = .string(token) }
            let page = try await call("GetExecutionHistory", .object(body))
            events += (page["events"]?.array ?? []).map(HistoryEvent.init)
            token = page["nextToken"]?.string
        } while token != nil
        return events.sorted { $0.id < $1.id }
    }

    /// Resumes the task waiting at `token` with `output`.
    public func sendTaskSuccess(token: String, output: JSONValue) async throws {
        _ = try await call("SendTaskSuccess", ["taskToken": .string(token), "output": .string(output.canonicalJSON)])
    }

    /// Fails the task waiting at `token` with `error` and `cause`.
    public func sendTaskFailure(token: String, error: String, cause: String) async throws {
        _ = try await call(
            "SendTaskFailure", ["taskToken": .string(token), "error": .string(error), "cause": .string(cause)])
    }
}
