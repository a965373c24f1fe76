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
            case .id: return "$$.Execution.Id"
            case .name: return "$$.Execution.Name"
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
            if case .http(let address, let verb, _) = module.implementation {
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

    var sageMakerRole: String { placeholder("SageMakerRoleArn") }

    mutating func imageURI(_ image: ImageChoice, module: Module) -> String {
        switch image {
        case .uri(let uri): return uri
        case .sluice:
            usesSluiceImage = true
            if let data = try? JSONEncoder().encode(module),
                let json = try? JSONDecoder().decode(JSONValue.self, from: data)
            {
                imageModules[ContainerJob.moduleFile(module.name)] = json
            }
            return use("SluiceImageUri", "the URI of Sluice's image (built from the exported Dockerfile)")
        }
    }

    func instanceCount(_ module: Module, _ inputs: [String: Binding], into object: inout [String: JSONValue]) {
        if case .reference(let reference)? = inputs[JobPorts.instanceCount] {
            object["InstanceCount.$"] = .string(referencePath(reference, scope: Scope()))
        } else if let port = module.input(named: JobPorts.instanceCount), let value = binding(port, inputs),
            case .literal(let count) = value
        {
            object["InstanceCount"] = count
        } else {
            object["InstanceCount"] = module.cloud?["instance_count"] ?? 1
        }
    }

    func instanceType(_ module: Module, default fallback: String = "ml.m5.large") -> JSONValue {
        module.cloud?["instance_type"] ?? .string(fallback)
    }

    /// Value inputs as environment variables, and file inputs (or values another job wrote to S3) as S3 sources.
    mutating func jobInputs(
        _ module: Module, _ inputs: [String: Binding], scope: Scope
    ) -> (files: [(String, [String: JSONValue])], environment: [String: JSONValue]) {
        var files: [(String, [String: JSONValue])] = []
        var environment: [String: JSONValue] = [:]
        for port in module.inputs where !JobPorts.all.contains(port.name) {
            guard let binding = binding(port, inputs) else { continue }
            var readsJobOutput = false
            if case .reference(let reference) = binding, case .stepOutput(let producer, let output) = reference.root {
                readsJobOutput = places[producer]?[output] == .s3
            }
            if port.type.isLocation || readsJobOutput {
                var uri: [String: JSONValue] = [:]
                put(&uri, "S3Uri", binding, type: .data, scope: scope)
                files.append((ExportNames.key(port.name), uri))
            } else {
                let (isPath, text) = stringExpression(binding, type: port.type)
                environment[ContainerJob.inputVariable(port.name) + (isPath ? ".$" : "")] = .string(text)
            }
        }
        return (files, environment)
    }

    mutating func processingState(
        _ step: Step, _ module: Module, _ inputs: [String: Binding], image: ImageChoice, scope: Scope
    ) -> [String: JSONValue] {
        var application: [String: JSONValue] = ["ImageUri": .string(imageURI(image, module: module))]
        if image == .sluice {
            application["ContainerEntrypoint"] = .array(
                ContainerJob.entrypoint(module: module.name, layout: .processing).map { .string($0) })
        } else if case .command(let arguments, _) = module.implementation {
            application["ContainerEntrypoint"] = .array(arguments.map { .string($0) })
        }
        var cluster: [String: JSONValue] = [
            "InstanceType": instanceType(module), "VolumeSizeInGB": module.cloud?["volume_size_gb"] ?? 30,
        ]
        instanceCount(module, inputs, into: &cluster)
        let (files, environment) = jobInputs(module, inputs, scope: scope)
        let processingInputs: [JSONValue] = files.map { name, uri in
            var source = uri
            source["LocalPath"] = .string("\(ContainerJob.processingInputRoot)/\(name)")
            source["S3DataType"] = "S3Prefix"
            source["S3InputMode"] = "File"
            source["S3DataDistributionType"] = "FullyReplicated"
            return ["InputName": .string(name), "S3Input": .object(source)]
        }
        let outputs: [JSONValue] = module.outputs.map { output in
            [
                "OutputName": .string(ExportNames.key(output.name)),
                "S3Output": [
                    "S3Uri.$": .string(outputLocation(step, output.name)),
                    "LocalPath": .string("\(ContainerJob.processingOutputRoot)/\(ExportNames.key(output.name))"),
                    "S3UploadMode": "EndOfJob",
                ],
            ]
        }
        var parameters: [String: JSONValue] = [
            "ProcessingJobName.$": .string(jobName(step, scope: scope)),
            "RoleArn": module.cloud?["role"] ?? .string(sageMakerRole),
            "AppSpecification": .object(application),
            "ProcessingResources": ["ClusterConfig": .object(cluster)],
            "StoppingCondition": ["MaxRuntimeInSeconds": .int(Int(step.timeout?.seconds ?? 86_400))],
        ]
        var variables = environment
        variables[ContainerJob.stepVariable] = .string(step.name)
        parameters["Environment"] = .object(variables)
        if !processingInputs.isEmpty { parameters["ProcessingInputs"] = .array(processingInputs) }
        if !outputs.isEmpty { parameters["ProcessingOutputConfig"] = ["Outputs": .array(outputs)] }
        return [
            "Type": "Task", "Resource": "arn:aws:states:::sagemaker:createProcessingJob.sync",
            "Parameters": .object(parameters),
            "ResultSelector": ["outputs": [:], "job.$": "$.ProcessingJobArn"],
            "ResultPath": .string("$.steps.\(ExportNames.key(step.name))"),
        ]
    }

    mutating func trainingState(
        _ step: Step, _ module: Module, _ inputs: [String: Binding], image: ImageChoice, scope: Scope
    ) -> [String: JSONValue] {
        var algorithm: [String: JSONValue] = [
            "TrainingImage": .string(imageURI(image, module: module)), "TrainingInputMode": "File",
        ]
        if image == .sluice {
            algorithm["ContainerEntrypoint"] = .array(
                ContainerJob.entrypoint(module: module.name, layout: .training).map { .string($0) })
        }
        var resources: [String: JSONValue] = [
            "InstanceType": instanceType(module), "VolumeSizeInGB": module.cloud?["volume_size_gb"] ?? 30,
        ]
        instanceCount(module, inputs, into: &resources)
        let (files, environment) = jobInputs(module, inputs, scope: scope)
        let channels: [JSONValue] = files.map { name, uri in
            var source = uri
            source["S3DataType"] = "S3Prefix"
            source["S3DataDistributionType"] = "FullyReplicated"
            return ["ChannelName": .string(name), "DataSource": ["S3DataSource": .object(source)]]
        }
        var parameters: [String: JSONValue] = [
            "TrainingJobName.$": .string(jobName(step, scope: scope)),
            "RoleArn": module.cloud?["role"] ?? .string(sageMakerRole),
            "AlgorithmSpecification": .object(algorithm),
            "ResourceConfig": .object(resources),
            "OutputDataConfig": ["S3OutputPath.$": .string(outputLocation(step, nil))],
            "StoppingCondition": ["MaxRuntimeInSeconds": .int(Int(step.timeout?.seconds ?? 86_400))],
        ]
        if !channels.isEmpty { parameters["InputDataConfig"] = .array(channels) }
        if let port = module.input(named: JobPorts.hyperParameters), let binding = binding(port, inputs) {
            putHyperParameters(binding, step: step, scope: scope, into: &parameters)
        }
        var variables = environment
        variables[ContainerJob.stepVariable] = .string(step.name)
        parameters["Environment"] = .object(variables)
        var outputs: [String: JSONValue] = [:]
        for output in module.outputs where output.type == .model {
            outputs[output.name + ".$"] = "$.ModelArtifacts.S3ModelArtifacts"
        }
        for output in module.outputs where output.type != .model {
            notes.append(
                "Training step '\(step.name)' keeps only its model on AWS; output '\(output.name)' stays in the "
                    + "job's output.tar.gz.")
        }
        return [
            "Type": "Task", "Resource": "arn:aws:states:::sagemaker:createTrainingJob.sync",
            "Parameters": .object(parameters),
            "ResultSelector": ["outputs": .object(outputs), "job.$": "$.TrainingJobArn"],
            "ResultPath": .string("$.steps.\(ExportNames.key(step.name))"),
        ]
    }

    mutating func transformStates(
        _ step: Step, _ module: Module, _ inputs: [String: Binding], image: ImageChoice, scope: Scope,
        entry: String, next: String?
    ) -> [String: JSONValue] {
        let modelPort = module.inputs.first { $0.type == .model }
        let dataPort = module.inputs.first { $0.type == .data }
        var container: [String: JSONValue] = ["Image": .string(imageURI(image, module: module))]
        if let modelPort, let binding = binding(modelPort, inputs) {
            put(&container, "ModelDataUrl", binding, type: .model, scope: scope)
        }
        if image == .sluice {
            notes.append(
                "Transform step '\(step.name)' serves its model from Sluice's image: set cloud.image on module "
                    + "'\(module.name)' to an inference image if that image does not answer /invocations.")
        }
        let transform = "\(entry): transform"
        let name = jobName(step, scope: scope)
        let createModel: [String: JSONValue] = [
            "Type": "Task", "Resource": "arn:aws:states:::sagemaker:createModel",
            "Parameters": [
                "ModelName.$": .string(name), "ExecutionRoleArn": module.cloud?["role"] ?? .string(sageMakerRole),
                "PrimaryContainer": .object(container),
            ],
            "ResultPath": .null, "Next": .string(transform),
        ]
        var source: [String: JSONValue] = ["S3DataType": "S3Prefix"]
        if let dataPort, let binding = binding(dataPort, inputs) {
            put(&source, "S3Uri", binding, type: .data, scope: scope)
        }
        var outputs: [String: JSONValue] = [:]
        if let output = module.outputs.first(where: { $0.type.isLocation }) {
            outputs[output.name + ".$"] = "$.TransformOutput.S3OutputPath"
        }
        let contentType = dataPort?.attributes["ContentType"]?.string ?? "text/csv"
        var resources: [String: JSONValue] = ["InstanceType": instanceType(module)]
        instanceCount(module, inputs, into: &resources)
        let run: [String: JSONValue] = [
            "Type": "Task", "Resource": "arn:aws:states:::sagemaker:createTransformJob.sync",
            "Parameters": [
                "TransformJobName.$": .string(name), "ModelName.$": .string(name),
                "TransformInput": [
                    "DataSource": ["S3DataSource": .object(source)], "ContentType": .string(contentType),
                    "SplitType": "Line",
                ],
                "TransformOutput": ["S3OutputPath.$": .string(outputLocation(step, nil)), "AssembleWith": "Line"],
                "TransformResources": .object(resources),
            ],
            "ResultSelector": ["outputs": .object(outputs), "job.$": "$.TransformJobArn"],
            "ResultPath": .string("$.steps.\(ExportNames.key(step.name))"),
        ]
        return [entry: .object(createModel), transform: link(run, next: next)]
    }

    mutating func registerState(
        _ step: Step, _ module: Module, _ inputs: [String: Binding], scope: Scope
    ) -> [String: JSONValue] {
        var parameters: [String: JSONValue] = [:]
        if let port = module.input(named: "ModelPackageGroup"), let binding = binding(port, inputs) {
            if case .literal(.string(let group)) = binding { modelPackageGroups.insert(group) }
            put(&parameters, "ModelPackageGroupName", binding, type: .string, scope: scope)
        }
        if let port = module.input(named: "ApprovalStatus"), let binding = binding(port, inputs) {
            put(&parameters, "ModelApprovalStatus", binding, type: .string, scope: scope)
        }
        var container: [String: JSONValue] = [
            "Image": .string(imageURI(imageChoice(module) ?? .sluice, module: module))
        ]
        if let port = module.input(named: "Model"), let binding = binding(port, inputs) {
            put(&container, "ModelDataUrl", binding, type: .model, scope: scope)
        }
        parameters["InferenceSpecification"] = [
            "Containers": [.object(container)], "SupportedContentTypes": ["text/csv", "application/json"],
            "SupportedResponseMIMETypes": ["text/csv", "application/json"],
        ]
        if let port = module.input(named: "Metrics"), let binding = binding(port, inputs) {
            var statistics: [String: JSONValue] = ["ContentType": "application/json"]
            put(&statistics, "S3Uri", binding, type: .report, scope: scope)
            parameters["ModelMetrics"] = ["ModelQuality": ["Statistics": .object(statistics)]]
        }
        return [
            "Type": "Task", "Resource": "arn:aws:states:::aws-sdk:sagemaker:createModelPackage",
            "Parameters": .object(parameters),
            "ResultSelector": ["outputs": ["ModelVersion.$": "$.ModelPackageArn"]],
            "ResultPath": .string("$.steps.\(ExportNames.key(step.name))"),
        ]
    }

    /// createModel, createEndpointConfig, createEndpoint (updateEndpoint when it exists), then describeEndpoint
    /// every 30 seconds until it is InService.
    mutating func deployStates(
        _ step: Step, _ module: Module, _ inputs: [String: Binding], scope: Scope, entry: String, next: String?
    ) -> [String: JSONValue] {
        let key = ExportNames.key(step.name)
        let base = "$.steps.\(key)"
        func part(_ name: String) -> Binding? { module.input(named: name).flatMap { binding($0, inputs) } }
        func argument(_ binding: Binding?) -> Intrinsic.FormatPiece {
            switch binding {
            case .literal(let value)?: .text(value.string ?? value.compactJSON)
            case .reference(let reference)?: .argument(referencePath(reference, scope: scope))
            case .template?: .argument(stringExpression(binding!, type: .string).text)
            case nil: .text("")
            }
        }
        let endpoint = argument(part("Endpoint"))
        let stage = argument(part("Stage"))
        var outputs: [String: JSONValue] = [
            "Endpoint.$": .string(Intrinsic.format([endpoint, .text("-"), stage])),
            "EndpointUrl.$": .string(
                Intrinsic.format([
                    .text("https://runtime.sagemaker.\(placeholder("Region")).amazonaws.com/endpoints/"), endpoint,
                    .text("-"), stage, .text("/invocations"),
                ])),
        ]
        _ = use("Region", "the AWS region")
        if let stageBinding = part("Stage") { put(&outputs, "Stage", stageBinding, type: .string, scope: scope) }
        if let version = part("ModelVersion") { put(&outputs, "ModelVersion", version, type: .string, scope: scope) }
        let names = (
            model: "\(entry): create model", config: "\(entry): endpoint config", create: "\(entry): create endpoint",
            update: "\(entry): update endpoint", wait: "\(entry): wait", describe: "\(entry): describe endpoint",
            check: "\(entry): in service?", failed: "\(entry): endpoint failed"
        )
        let role = module.cloud?["role"] ?? .string(sageMakerRole)
        let variant: JSONValue = [
            "VariantName": "AllTraffic", "ModelName.$": .string("\(base).model"),
            "InstanceType": instanceType(module, default: "ml.m5.large"), "InitialInstanceCount": 1,
        ]
        let endpointName = JSONValue.string("\(base).outputs.Endpoint")
        var states: [String: JSONValue] = [
            entry: [
                "Type": "Pass", "Comment": "Names of the model, endpoint configuration and endpoint.",
                "Parameters": ["outputs": .object(outputs), "model.$": .string(jobName(step, scope: scope))],
                "ResultPath": .string(base), "Next": .string(names.model),
            ],
            names.model: [
                "Type": "Task", "Resource": "arn:aws:states:::sagemaker:createModel",
                "Parameters": [
                    "ModelName.$": .string("\(base).model"), "ExecutionRoleArn": role,
                    "PrimaryContainer": ["ModelPackageName.$": .string("\(base).outputs.ModelVersion")],
                ],
                "ResultPath": .null, "Next": .string(names.config),
            ],
            names.config: [
                "Type": "Task", "Resource": "arn:aws:states:::sagemaker:createEndpointConfig",
                "Parameters": ["EndpointConfigName.$": .string("\(base).model"), "ProductionVariants": [variant]],
                "ResultPath": .null, "Next": .string(names.create),
            ],
            names.create: [
                "Type": "Task", "Resource": "arn:aws:states:::sagemaker:createEndpoint",
                "Parameters": ["EndpointName.$": endpointName, "EndpointConfigName.$": .string("\(base).model")],
                "Catch": [
                    [
                        "ErrorEquals": ["SageMaker.AmazonSageMakerException"], "Next": .string(names.update),
                        "ResultPath": .string("\(base).createError"),
                    ]
                ],
                "ResultPath": .null, "Next": .string(names.wait),
            ],
            names.update: [
                "Type": "Task", "Resource": "arn:aws:states:::sagemaker:updateEndpoint",
                "Parameters": ["EndpointName.$": endpointName, "EndpointConfigName.$": .string("\(base).model")],
                "ResultPath": .null, "Next": .string(names.wait),
            ],
            names.wait: ["Type": "Wait", "Seconds": 30, "Next": .string(names.describe)],
            names.describe: [
                "Type": "Task", "Resource": "arn:aws:states:::aws-sdk:sagemaker:describeEndpoint",
                "Parameters": ["EndpointName.$": endpointName],
                "ResultSelector": ["status.$": "$.EndpointStatus"], "ResultPath": .string("\(base).endpoint"),
                "Next": .string(names.check),
            ],
            names.failed: [
                "Type": "Fail", "Error": "Sluice.EndpointFailed",
                "Cause": .string("The endpoint of step \(step.name) did not reach InService."),
            ],
        ]
        let status = "\(base).endpoint.status"
        let done = next ?? doneState()
        states[names.check] = [
            "Type": "Choice",
            "Choices": [
                ["Variable": .string(status), "StringEquals": "InService", "Next": .string(done)],
                [
                    "Or": [
                        ["Variable": .string(status), "StringEquals": "Creating"],
                        ["Variable": .string(status), "StringEquals": "Updating"],
                        ["Variable": .string(status), "StringEquals": "SystemUpdating"],
                    ],
                    "Next": .string(names.wait),
                ],
            ],
            "Default": .string(names.failed),
        ]
        return states
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

    // MARK: Approval and Map

    mutating func approvalState(_ step: Step, _ approval: ApprovalSpec, next: String?) -> JSONValue {
        integrations.insert(.approval)
        for address in approval.notify { emailRecipients.insert(address) }
        var payload: [String: JSONValue] = [
            "token.$": "$$.Task.Token", "execution.$": "$$.Execution.Id", "step": .string(step.name),
            "recipients": .array(approval.notify.map { .string($0) }),
        ]
        let message = approval.message ?? Template(literal: "Approve step \(step.name)?")
        put(&payload, "message", .template(message), type: .string, scope: Scope())
        var state: [String: JSONValue] = [
            "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
            "Comment": "E-mails approve/reject links; the callback calls SendTaskSuccess or SendTaskFailure.",
            "Parameters": [
                "FunctionName": .string(use("ApprovalFunction", "the Lambda function that e-mails approval links")),
                "Payload": .object(payload),
            ],
            "ResultSelector": ["outputs.$": "$"], "ResultPath": .string("$.steps.\(ExportNames.key(step.name))"),
        ]
        if let timeout = approval.timeout ?? step.timeout {
            state["TimeoutSeconds"] = .int(max(1, Int(timeout.seconds.rounded(.up))))
        }
        return link(state, next: next)
    }

    mutating func mapStates(_ step: Step, _ map: MapSpec, next: String?) -> [String: JSONValue] {
        guard let module = pipeline.modules[map.task.module] else { return [:] }
        let key = ExportNames.key(step.name)
        var emitted: [String: JSONValue] = [:]
        var selector: [String: JSONValue] = [
            "index.$": "$$.Map.Item.Index", "run.$": "$.run", "parameters.$": "$.parameters", "steps.$": "$.steps",
        ]
        var processor: [String: JSONValue] = [:]
        var mapState: [String: JSONValue] = ["Type": "Map"]
        var entry = step.name
        let inner = "\(step.name): item"
        let result = "\(step.name): item result"
        var innerStates: [String: JSONValue] = [:]
        var innerStart = inner
        switch map.items {
        case .list(.reference(let reference)):
            mapState["ItemsPath"] = .string(referencePath(reference, scope: Scope()))
            selector["item.$"] = "$$.Map.Item.Value"
            processor["ProcessorConfig"] = ["Mode": "INLINE"]
        case .list(let binding):
            entry = "\(step.name): items"
            var items: [String: JSONValue] = [:]
            put(&items, "items", binding, type: .json, scope: Scope())
            emitted[step.name] = [
                "Type": "Pass", "Parameters": .object(items), "ResultPath": .string("$.steps.\(key)"),
                "Next": .string(entry),
            ]
            mapState["ItemsPath"] = .string("$.steps.\(key).items")
            selector["item.$"] = "$$.Map.Item.Value"
            processor["ProcessorConfig"] = ["Mode": "INLINE"]
        case .files(let binding, let glob):
            integrations.insert(.distributedMap)
            var location = ""
            switch binding {
            case .literal(let value): location = value.string ?? ""
            case .reference(let reference):
                if case .parameter(let name) = reference.root {
                    location = pipeline.parameter(named: name)?.defaultValue?.string ?? ""
                    notes.append(
                        "Map step '\(step.name)' lists the folder of parameter \(name)'s default, fixed at export; "
                            + "export again to list another folder.")
                }
            case .template: break
            }
            let uri = s3Location(location, what: "the files of Map step '\(step.name)'")
            let trimmed = uri.dropFirst("s3://".count)
            let bucketName = trimmed.split(separator: "/", maxSplits: 1).first.map(String.init) ?? bucket
            var prefix = trimmed.split(separator: "/", maxSplits: 1).dropFirst().first.map(String.init) ?? ""
            if !prefix.isEmpty, !prefix.hasSuffix("/") { prefix += "/" }
            mapState["ItemReader"] = [
                "Resource": "arn:aws:states:::s3:listObjectsV2",
                "Parameters": ["Bucket": .string(bucketName), "Prefix": .string(prefix)],
            ]
            selector["item.$"] = .string(
                Intrinsic.format([.text("s3://\(bucketName)/"), .argument("$$.Map.Item.Value.Key")]))
            selector["key.$"] = "$$.Map.Item.Value.Key"
            processor["ProcessorConfig"] = ["Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"]
            if let glob {
                innerStart = "\(step.name): matches \(glob)?"
                innerStates[innerStart] = [
                    "Type": "Choice",
                    "Choices": [["Variable": "$.key", "StringMatches": .string(glob), "Next": .string(inner)]],
                    "Default": .string("\(step.name): skipped"),
                ]
                innerStates["\(step.name): skipped"] = ["Type": "Succeed"]
            }
        }
        var scope = Scope(itemIndex: "$.index")
        var task = taskStates(step, module: module, inputs: map.task.inputs, scope: &scope, next: result, entry: inner)
        for (name, state) in task where state["Type"] == "Task" {
            task[name] = withErrorHandling(state, step: step, catchAll: nil, catches: false)
        }
        innerStates.merge(task) { first, _ in first }
        innerStates[result] = ["Type": "Pass", "OutputPath": .string("$.steps.\(key).outputs"), "End": true]
        processor["StartAt"] = .string(innerStart)
        processor["States"] = .object(innerStates)
        mapState["ItemSelector"] = .object(selector)
        mapState["ItemProcessor"] = .object(processor)
        if map.maxConcurrency > 0 { mapState["MaxConcurrency"] = .int(map.maxConcurrency) }
        mapState["ResultSelector"] = ["outputs": ["items.$": "$"]]
        mapState["ResultPath"] = .string("$.steps.\(key)")
        emitted[entry] = link(mapState, next: next)
        return emitted
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
