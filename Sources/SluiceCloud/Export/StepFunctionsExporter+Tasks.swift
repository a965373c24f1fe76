import Foundation
import SluiceCore

/// How one task step runs on AWS.
enum TaskPlan: Equatable {
    case lambda, http, glue, ecs, register, deploy, notify
    case processing(ImageChoice)
    case training(ImageChoice)
    case transform(ImageChoice)
    /// Cannot run on AWS as written; the reason says what to add.
    case unsupported(String)
}

/// The container image a SageMaker job runs.
enum ImageChoice: Equatable {
    /// Sluice's own image, running one built-in step with `sluice job`.
    case sluice
    case uri(String)
}

/// Where a step's task runs inside the machine: at top level, or once per item inside a Map.
struct Scope {
    /// The path holding the item's index inside a Map's iteration, so job names stay unique per item.
    var itemIndex: String?
}

/// Port names with a meaning for SageMaker jobs rather than for the step's code.
enum JobPorts {
    static let instanceCount = "InstanceCount"
    static let instanceType = "InstanceType"
    static let hyperParameters = "HyperParameters"
    static let imageName = "ImageName"
    static let all: Set<String> = [instanceCount, instanceType, hyperParameters, imageName]
}

extension ValueType {
    /// Whether values of this type are locations of files (passed to jobs as S3 inputs) rather than values.
    var isLocation: Bool { self == .data || self == .model || self == .report }
}

extension MachineBuilder {
    // MARK: Plans and places

    func plan(for module: Module) -> TaskPlan {
        if case .builtin(let name, _) = module.implementation {
            switch name {
            case "registry.register": return .register
            case "endpoint.deploy": return .deploy
            case "notify": return .notify
            default: break
            }
        }
        let image = imageChoice(module)
        switch module.kind {
        case .lambda: return .lambda
        case .http: return .http
        case .glue: return .glue
        case .ecs, .container: return .ecs
        case .sageMakerTraining:
            guard let image else { return .unsupported("a training image") }
            return .training(image)
        case .sageMakerTransform:
            return .transform(image ?? .sluice)
        case .sageMakerProcessing, .builtin:
            guard let image else { return .unsupported("a processing image") }
            return .processing(image)
        case .command:
            guard let image else { return .unsupported("an image that holds the command") }
            return module.input(named: JobPorts.hyperParameters) != nil ? .training(image) : .processing(image)
        }
    }

    /// `cloud.image` (`sluice` meaning Sluice's own image), an `ImageName` input's value, or Sluice's image for a
    /// built-in module.
    func imageChoice(_ module: Module) -> ImageChoice? {
        if let image = module.cloud?["image"]?.string { return image == "sluice" ? .sluice : .uri(image) }
        if let image = module.input(named: JobPorts.imageName)?.value?.string { return .uri(image) }
        if case .builtin = module.implementation { return .sluice }
        return nil
    }

    func outputPlaces(_ step: Step) -> [String: OutputPlace] {
        guard case .task(let task) = step.kind, let module = pipeline.modules[task.module] else { return [:] }
        var places: [String: OutputPlace] = [:]
        for output in module.outputs {
            switch plan(for: module) {
            case .processing, .glue, .ecs: places[output.name] = .s3
            case .training: places[output.name] = output.type == .model ? .state : .s3
            default: places[output.name] = .state
            }
        }
        return places
    }

    // MARK: Expressions

    /// A path (or intrinsic call) giving the reference's value inside the machine.
    func referencePath(_ reference: Reference, scope: Scope) -> String {
        switch reference.root {
        case .parameter(let name):
            return StatePath.parameter(name) + StatePath.components(reference.path)
        case .stepOutput(let step, let output):
            if places[step]?[output] == .s3 {
                let isValue = !(outputType(step, output)?.isLocation ?? false) || outputType(step, output) == .report
                return Intrinsic.format([
                    .text("s3://\(bucket)/runs/"), .argument("$.run"),
                    .text("/\(ExportNames.key(step))/\(ExportNames.key(output))/" + (isValue ? "value.json" : "")),
                ])
            }
            return StatePath.stepOutput(step, output) + StatePath.components(reference.path)
        case .execution(let field):
            switch field {
            // The execution's name, not its ARN (`$$.Execution.Id`): short, unique per machine, what `sluice aws start
            // --name` sets and the run folders use, so it reads well in keys, job names and messages as a local id does.
            case .id: return "$$.Execution.Name"
            // Locally an execution's name is its pipeline's: the machine's name (the stack, else the pipeline's).
            case .name: return "$$.StateMachine.Name"
            case .startTime: return "$$.Execution.StartTime"
            }
        case .mapItem:
            return "$.item" + StatePath.components(reference.path)
        }
    }

    func outputType(_ step: String, _ output: String) -> ValueType? {
        guard let step = self.step(step), case .task(let task) = step.kind else { return nil }
        return pipeline.modules[task.module]?.output(named: output)?.type
    }

    func referenceType(_ reference: Reference) -> ValueType? {
        switch reference.root {
        case .parameter(let name): return reference.path.isEmpty ? pipeline.parameter(named: name)?.type : nil
        case .stepOutput(let step, let output):
            if places[step]?[output] == .s3 { return .string }
            return reference.path.isEmpty ? outputType(step, output) : nil
        case .execution: return .string
        case .mapItem: return nil
        }
    }

    /// A string-valued form of a binding: (true, path or intrinsic) or (false, literal text).
    func stringExpression(_ binding: Binding, type: ValueType?) -> (isPath: Bool, text: String) {
        switch binding {
        case .literal(let value):
            return (false, value.string ?? value.compactJSON)
        case .reference(let reference):
            let path = referencePath(reference, scope: Scope())
            let known = referenceType(reference)
            let isText = path.hasPrefix("States.") || [.string, .data, .model, .report].contains(known ?? .json)
            return (true, isText ? path : "States.JsonToString(\(path))")
        case .template(let template):
            guard !template.references.isEmpty else {
                return (false, template.parts.map { if case .literal(let text) = $0 { text } else { "" } }.joined())
            }
            return (
                true,
                Intrinsic.format(
                    template.parts.map { part in
                        switch part {
                        case .literal(let text): .text(text)
                        case .reference(let reference): .argument(referencePath(reference, scope: Scope()))
                        }
                    })
            )
        }
    }

    /// Sets `key` (or `key.$`) in a Parameters object to the binding's value.
    mutating func put(
        _ object: inout [String: JSONValue], _ key: String, _ binding: Binding, type: ValueType?, scope: Scope
    ) {
        switch binding {
        case .literal(var value):
            if type?.isLocation == true, let text = value.string, type != .report || !text.isEmpty {
                value = .string(s3Location(text, what: "input '\(key)'"))
            }
            object[key] = value
        case .reference(let reference):
            object[key + ".$"] = .string(referencePath(reference, scope: scope))
        case .template:
            let (isPath, text) = stringExpression(binding, type: .string)
            object[isPath ? key + ".$" : key] = .string(text)
        }
    }

    /// The step's binding for a port, or the port's default.
    func binding(_ port: Module.Port, _ inputs: [String: Binding]) -> Binding? {
        inputs[port.name] ?? port.value.map { .literal($0) }
    }

    func jobName(_ step: Step, scope: Scope) -> String {
        let prefix = ExportNames.jobPrefix(step.name)
        if let index = scope.itemIndex {
            return Intrinsic.format([.text(prefix + "-"), .argument("$.run"), .text("-"), .argument(index)])
        }
        return Intrinsic.format([.text(prefix + "-"), .argument("$.run")])
    }

    func outputLocation(_ step: Step, _ output: String?) -> String {
        let tail = output.map { "/\(ExportNames.key($0))" } ?? ""
        return Intrinsic.format([
            .text("s3://\(bucket)/runs/"), .argument("$.run"), .text("/\(ExportNames.key(step.name))\(tail)/"),
        ])
    }

    // MARK: Task states

    /// The states of one task step, the first named `entry`; the last one continues at `next`.
    mutating func taskStates(
        _ step: Step, module: Module, inputs: [String: Binding], scope: inout Scope, next: String?,
        entry: String? = nil
    ) -> [String: JSONValue] {
        let entry = entry ?? step.name
        let key = ExportNames.key(step.name)
        let resultPath = JSONValue.string("$.steps.\(key)")
        switch plan(for: module) {
        case .unsupported(let missing):
            diagnostics.append(
                .error(
                    "not-exportable",
                    "step '\(step.name)' runs module '\(module.name)' (\(module.kind.rawValue)) locally only: "
                        + "AWS needs \(missing)",
                    at: module.location ?? step.location,
                    fix: "add to module '\(module.name)' a 'cloud:' block such as "
                        + "{image: <ECR image URI>, role: <SageMaker role ARN>, instance_type: ml.m5.large} "
                        + "(image: sluice runs it in Sluice's own image)"))
            return [:]
        case .lambda:
            integrations.insert(.lambda)
            let function: String
            if let name = module.cloud?["function"]?.string {
                function = name
            } else {
                let substitution = "Function" + ExportNames.logicalID(module.name)
                lambdaFunctions[substitution] = module.name
                function = use(substitution, "the name or ARN of the Lambda function of module \(module.name)")
            }
            let state: [String: JSONValue] = [
                "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": ["FunctionName": .string(function), "Payload": .object(payload(module, inputs, scope))],
                "ResultSelector": ["outputs.$": "$.Payload"], "ResultPath": resultPath,
            ]
            return [entry: link(state, next: next)]
        case .http:
            integrations.insert(.http)
            var url = module.cloud?["url"]?.string ?? ""
            var method = "POST"
            if case .http(let address, let verb, _, _) = module.implementation {
                url = module.cloud?["url"]?.string ?? address
                method = verb
            }
            let connection =
                module.cloud?["connection"]?.string
                ?? use("HttpConnectionArn", "an EventBridge connection for HTTP tasks")
            let state: [String: JSONValue] = [
                "Type": "Task", "Resource": "arn:aws:states:::http:invoke",
                "Parameters": [
                    "ApiEndpoint": .string(url), "Method": .string(method),
                    "Authentication": ["ConnectionArn": .string(connection)],
                    "RequestBody": .object(payload(module, inputs, scope)),
                ],
                "ResultSelector": ["outputs.$": "$.ResponseBody"], "ResultPath": resultPath,
            ]
            return [entry: link(state, next: next)]
        case .glue:
            integrations.insert(.glue)
            var arguments: [String: JSONValue] = [:]
            for port in module.inputs {
                guard let binding = binding(port, inputs) else { continue }
                let (isPath, text) = stringExpression(binding, type: port.type)
                arguments["--\(port.name)" + (isPath ? ".$" : "")] = .string(text)
            }
            for output in module.outputs {
                arguments["--\(output.name).$"] = .string(outputLocation(step, output.name))
            }
            let state: [String: JSONValue] = [
                "Type": "Task", "Resource": "arn:aws:states:::glue:startJobRun.sync",
                "Parameters": [
                    "JobName": .string(module.cloud?["job_name"]?.string ?? module.name),
                    "Arguments": .object(arguments),
                ],
                "ResultSelector": ["outputs": [:], "job.$": "$.Id"], "ResultPath": resultPath,
            ]
            return [entry: link(state, next: next)]
        case .ecs:
            integrations.insert(.ecs)
            var environment: [JSONValue] = []
            for port in module.inputs {
                guard let binding = binding(port, inputs) else { continue }
                let (isPath, text) = stringExpression(binding, type: port.type)
                var variable: [String: JSONValue] = ["Name": .string(ContainerJob.inputVariable(port.name))]
                variable[isPath ? "Value.$" : "Value"] = .string(text)
                environment.append(.object(variable))
            }
            for output in module.outputs {
                environment.append(
                    [
                        "Name": .string(ContainerJob.outputVariable(output.name)),
                        "Value.$": .string(outputLocation(step, output.name)),
                    ])
            }
            let cluster =
                module.cloud?["cluster"]?.string ?? use("EcsCluster", "the ECS cluster running container steps")
            let subnet = use("EcsSubnet", "a subnet for Fargate tasks")
            let state: [String: JSONValue] = [
                "Type": "Task", "Resource": "arn:aws:states:::ecs:runTask.sync",
                "Parameters": [
                    "Cluster": .string(cluster),
                    "TaskDefinition": .string(module.cloud?["task_definition"]?.string ?? module.name),
                    "LaunchType": "FARGATE",
                    "NetworkConfiguration": [
                        "AwsvpcConfiguration": ["Subnets": [.string(subnet)], "AssignPublicIp": "ENABLED"]
                    ],
                    "Overrides": [
                        "ContainerOverrides": [
                            [
                                "Name": .string(module.cloud?["container"]?.string ?? ExportNames.key(module.name)),
                                "Environment": .array(environment),
                            ]
                        ]
                    ],
                ],
                "ResultSelector": ["outputs": [:], "job.$": "$.TaskArn"], "ResultPath": resultPath,
            ]
            return [entry: link(state, next: next)]
        case .processing(let image):
            integrations.insert(.processing)
            return [entry: link(processingState(step, module, inputs, image: image, scope: scope), next: next)]
        case .training(let image):
            integrations.insert(.training)
            return [entry: link(trainingState(step, module, inputs, image: image, scope: scope), next: next)]
        case .transform(let image):
            integrations.insert(.transform)
            integrations.insert(.model)
            return transformStates(step, module, inputs, image: image, scope: scope, entry: entry, next: next)
        case .register:
            integrations.insert(.modelPackage)
            return [entry: link(registerState(step, module, inputs, scope: scope), next: next)]
        case .deploy:
            integrations.insert(.endpoint)
            integrations.insert(.model)
            return deployStates(step, module, inputs, scope: scope, entry: entry, next: next)
        case .notify:
            integrations.insert(.sns)
            var parameters: [String: JSONValue] = ["TopicArn": .string(notificationTopic)]
            if let subject = module.input(named: "Subject"), let binding = binding(subject, inputs) {
                put(&parameters, "Subject", snsSubject(binding, step: step), type: .string, scope: scope)
            }
            if let message = module.input(named: "Message"), let binding = binding(message, inputs),
                binding != .literal("")
            {
                put(&parameters, "Message", binding, type: .string, scope: scope)
            } else if let subject = module.input(named: "Subject"), let binding = binding(subject, inputs) {
                put(&parameters, "Message", binding, type: .string, scope: scope)
            }
            if let recipients = module.input(named: "Recipients"),
                case .literal(.array(let list))? = binding(
                    recipients, inputs)
            {
                for address in list { if let text = address.string { emailRecipients.insert(text) } }
            }
            let state: [String: JSONValue] = [
                "Type": "Task", "Resource": "arn:aws:states:::sns:publish", "Parameters": .object(parameters),
                "ResultSelector": ["outputs": ["Delivery.$": "$.MessageId"]], "ResultPath": resultPath,
            ]
            return [entry: link(state, next: next)]
        }
    }

    var notificationTopic: String { placeholder("NotificationTopicArn") }

    /// Every bound input (and default) as JSON, for Lambda payloads and HTTP bodies.
    mutating func payload(_ module: Module, _ inputs: [String: Binding], _ scope: Scope) -> [String: JSONValue] {
        var payload: [String: JSONValue] = [:]
        for port in module.inputs {
            guard let binding = binding(port, inputs) else { continue }
            put(&payload, port.name, binding, type: port.type, scope: scope)
        }
        return payload
    }

    /// SNS refuses a subject over 100 characters. One made from values known only when the execution runs cannot be
    /// measured here: it is sent as its fixed text (each value as `…`), cut to 100 characters, and the message keeps
    /// the values (a notice without a message sends the whole subject as its message).
    mutating func snsSubject(_ binding: Binding, step: Step) -> Binding {
        let limit = 100
        var text: String
        switch binding {
        case .literal(let value):
            text = value.string ?? value.canonicalJSON
            if text.count <= limit { return binding }
        case .reference:
            text = ""
        case .template(let template):
            text = template.parts.map { if case .literal(let literal) = $0 { literal } else { "…" } }.joined()
        }
        if !text.contains(where: \.isLetter) { text = "\(pipeline.name): \(step.name)" }
        if text.count > limit { text = String(text.prefix(limit - 1)) + "…" }
        notes.append(
            "SNS subjects are limited to 100 characters: step '\(step.name)' sends the subject '\(text)'; "
                + "its message carries the values.")
        return .literal(.string(text))
    }
}

extension JSONValue {
    /// One-line JSON with sorted keys.
    var compactJSON: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(self)).map { String(decoding: $0, as: UTF8.self) } ?? "null"
    }
}
