import Foundation
import SluiceCore

// SageMaker jobs as Task states: processing, training and transform jobs, model registration and endpoint deployment.
extension MachineBuilder {
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

    /// A job's instance type, count and volume, as processing and training jobs both take them.
    func jobResources(_ module: Module, _ inputs: [String: Binding]) -> [String: JSONValue] {
        var resources: [String: JSONValue] = [
            "InstanceType": instanceType(module), "VolumeSizeInGB": module.cloud?["volume_size_gb"] ?? 30,
        ]
        instanceCount(module, inputs, into: &resources)
        return resources
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
        let cluster = jobResources(module, inputs)
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
        let resources = jobResources(module, inputs)
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
}
