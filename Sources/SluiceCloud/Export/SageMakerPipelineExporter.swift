import Foundation
public import SluiceCore

/// A pipeline as a SageMaker Pipelines definition (Version `2020-12-01`, the SDK's reference forms).
public struct SageMakerPipelineExport: Sendable {
    public var definition: JSONValue
    /// Placeholders (`${Name}`) the definition uses, with what each stands for.
    public var substitutions: [String: String]
    public var notes: [String]
}

/// Turns a validated pipeline into a SageMaker pipeline definition.
///
/// Job steps run as Processing, Training or Transform steps (built-in modules in Sluice's image, as in the Step
/// Functions export); outputs land under `s3://<bucket>/runs/<execution id>/<StepKey>/<OutputKey>`; a condition on
/// a value or report output reads it through a `PropertyFile` and `Std:JsonGet`.
public enum SageMakerPipelineExporter {
    /// - Parameter pipeline: a validated pipeline.
    public static func export(_ pipeline: Pipeline) -> (export: SageMakerPipelineExport?, diagnostics: [Diagnostic]) {
        var builder = SageMakerBuilder(pipeline: pipeline)
        let definition = builder.build()
        guard !builder.diagnostics.hasErrors else { return (nil, builder.diagnostics) }
        return (
            SageMakerPipelineExport(
                definition: definition, substitutions: builder.machine.substitutions, notes: builder.notes),
            builder.diagnostics
        )
    }
}

struct SageMakerBuilder {
    let pipeline: Pipeline
    /// Shared with the Step Functions export: plans, images and input handling are the same.
    var machine: MachineBuilder
    var diagnostics: [Diagnostic] = []
    var notes: [String] = []
    /// Property files each step declares (output names read by conditions).
    var propertyFiles: [String: Set<String>] = [:]

    init(pipeline: Pipeline) {
        self.pipeline = pipeline
        self.machine = MachineBuilder(pipeline: pipeline)
        for step in pipeline.steps { machine.places[step.name] = machine.outputPlaces(step) }
    }

    mutating func build() -> JSONValue {
        _ = machine.use("ArtifactBucket", "the S3 bucket holding inputs and every step's outputs")
        for step in pipeline.steps {
            guard case .condition(let spec) = step.kind else { continue }
            for reference in spec.condition.references {
                if case .stepOutput(let producer, let output) = reference.root {
                    propertyFiles[producer, default: []].insert(output)
                }
            }
        }
        if !pipeline.onFailure.isEmpty {
            notes.append("on_failure steps have no SageMaker Pipelines counterpart and are left out.")
        }
        let order = machine.topologicalNames(pipeline.steps)
        let topLevel = partition(order)
        let steps = topLevel.compactMap { stepDefinition($0) }
        let parameters: [JSONValue] = pipeline.parameters.flatMap { parameter -> [JSONValue] in
            if let scalars = MachineBuilder.scalarParameters(of: parameter) {
                notes.append(
                    "JSON parameter '\(parameter.name)' becomes the String parameters "
                        + scalars.map(\.name).joined(separator: ", ") + " (SageMaker's parameters are scalars).")
                return scalars.map {
                    ["Name": .string($0.name), "Type": "String", "DefaultValue": .string($0.defaultValue)]
                }
            }
            var entry: [String: JSONValue] = [
                "Name": .string(parameter.name), "Type": .string(typeName(parameter.type)),
            ]
            if var value = parameter.defaultValue {
                if parameter.type.isLocation, let text = value.string {
                    value = .string(machine.s3Location(text, what: "parameter '\(parameter.name)'"))
                }
                if parameter.type == .float, let number = value.number { value = .double(number) }
                entry["DefaultValue"] = value
            }
            if let allowed = parameter.allowedValues { entry["EnumValues"] = .array(allowed) }
            return [.object(entry)]
        }
        notes += machine.notes
        diagnostics += machine.diagnostics
        return [
            "Version": "2020-12-01", "Metadata": [:], "Parameters": .array(parameters),
            "PipelineExperimentConfig": [
                "ExperimentName": ["Get": "Execution.PipelineName"],
                "TrialName": ["Get": "Execution.PipelineExecutionId"],
            ],
            "Steps": .array(steps),
        ]
    }

    func typeName(_ type: ValueType) -> String {
        switch type {
        case .integer: "Integer"
        case .float: "Float"
        case .boolean: "Boolean"
        default: "String"
        }
    }

    /// Branch members of each condition, nested in its IfSteps/ElseSteps; the rest stay at top level.
    var branches: [String: (then: [String], otherwise: [String])] = [:]

    mutating func partition(_ order: [String]) -> [String] {
        var nested: Set<String> = []
        for (index, name) in order.enumerated() {
            guard let step = pipeline.step(named: name), case .condition = step.kind else { continue }
            var thenSet: [String] = []
            var elseSet: [String] = []
            for later in order[(index + 1)...] where !nested.contains(later) {
                guard let candidate = pipeline.step(named: later) else { continue }
                let dependencies = machine.dependencies(of: candidate)
                let inThen =
                    candidate.after.contains { $0.step == name && $0.outcome == .conditionTrue }
                    || !dependencies.isDisjoint(with: thenSet)
                let inElse =
                    candidate.after.contains { $0.step == name && $0.outcome == .conditionFalse }
                    || !dependencies.isDisjoint(with: elseSet)
                if inThen && !inElse { thenSet.append(later) }
                if inElse && !inThen { elseSet.append(later) }
            }
            nested.formUnion(thenSet + elseSet)
            branches[name] = (thenSet, elseSet)
        }
        return order.filter { !nested.contains($0) }
    }

    // MARK: References

    func get(_ reference: Reference) -> JSONValue {
        switch reference.root {
        case .parameter(let name): return ["Get": .string("Parameters.\(name)")]
        case .execution(let field):
            switch field {
            case .id: return ["Get": "Execution.PipelineExecutionId"]
            // Locally an execution's name is its pipeline's.
            case .name: return ["Get": "Execution.PipelineName"]
            case .startTime: return ["Get": "Execution.StartDateTime"]
            }
        case .mapItem: return ""
        case .stepOutput(let step, let output):
            guard let producer = pipeline.step(named: step), case .task(let task) = producer.kind,
                let module = pipeline.modules[task.module]
            else { return "" }
            switch machine.plan(for: module) {
            case .processing:
                let isValue =
                    !(module.output(named: output)?.type.isLocation ?? false)
                    || module.output(named: output)?.type == .report
                let uri: JSONValue = [
                    "Get": .string(
                        "Steps.\(step).ProcessingOutputConfig.Outputs['\(ExportNames.key(output))'].S3Output.S3Uri")
                ]
                return isValue ? ["Std:Join": ["On": "", "Values": [uri, .string(ContainerJob.valueFile)]]] : uri
            case .training: return ["Get": .string("Steps.\(step).ModelArtifacts.S3ModelArtifacts")]
            case .transform: return ["Get": .string("Steps.\(step).TransformOutput.S3OutputPath")]
            case .register:
                // `Group/N`, as the registry's version locally (the step's properties are DescribeModelPackage's).
                return [
                    "Std:Join": [
                        "On": "/",
                        "Values": [
                            ["Get": .string("Steps.\(step).ModelPackageGroupName")],
                            ["Get": .string("Steps.\(step).ModelPackageVersion")],
                        ],
                    ]
                ]
            default: return ["Get": .string("Steps.\(step).OutputParameters['\(output)']")]
            }
        }
    }

    func value(_ binding: Binding) -> JSONValue {
        switch binding {
        case .literal(let value): return value
        case .reference(let reference): return get(reference)
        case .template(let template):
            let values: [JSONValue] = template.parts.map { part in
                switch part {
                case .literal(let text): .string(text)
                case .reference(let reference): get(reference)
                }
            }
            return ["Std:Join": ["On": "", "Values": .array(values)]]
        }
    }

    /// Step Functions-style placeholders and intrinsic calls have no place here: rewrite a Step Functions job
    /// request into SageMaker's reference forms.
    mutating func rewrite(_ value: JSONValue, step: Step, inputs: [String: Binding], module: Module) -> JSONValue {
        switch value {
        case .object(let members):
            var result: [String: JSONValue] = [:]
            for (key, member) in members {
                if key.hasSuffix(".$") {
                    result[String(key.dropLast(2))] = expression(member.string ?? "", step: step)
                } else {
                    result[key] = rewrite(member, step: step, inputs: inputs, module: module)
                }
            }
            return .object(result)
        case .array(let items):
            return .array(items.map { rewrite($0, step: step, inputs: inputs, module: module) })
        default:
            return value
        }
    }

    /// A Step Functions path or `States.Format` from the shared job builder, in SageMaker's terms.
    func expression(_ text: String, step: Step) -> JSONValue {
        if text.hasPrefix("$.parameters.") {
            if let scalar = scalarParameter(text) { return ["Get": .string("Parameters." + scalar)] }
            return ["Get": .string("Parameters." + text.dropFirst("$.parameters.".count))]
        }
        if text == "$.run" { return ["Get": "Execution.PipelineExecutionId"] }
        if text.hasPrefix("$$.Execution") { return ["Get": "Execution.PipelineExecutionId"] }
        if text.hasPrefix("States.JsonToString("), text.hasSuffix(")") {
            return expression(String(text.dropFirst("States.JsonToString(".count).dropLast()), step: step)
        }
        if text.hasPrefix("$.steps."), let reference = referenceFromPath(text) { return get(reference) }
        if let reference = jobOutputReference(text, from: step) { return get(reference) }
        if text.hasPrefix("States.Format(") { return join(text, step: step) }
        return .string(text)
    }

    /// Another job's output location, `States.Format('s3://…/runs/{}/<StepKey>/<OutputKey>/…', $.run)`, as the
    /// reference it was made from, so it becomes the SDK's `Get` form.
    func jobOutputReference(_ text: String, from step: Step) -> Reference? {
        guard text.hasPrefix("States.Format('s3://"), let marker = text.range(of: "/runs/{}/"),
            let end = text[marker.upperBound...].firstIndex(of: "'")
        else { return nil }
        let parts = text[marker.upperBound..<end].split(separator: "/").map(String.init)
        guard parts.count >= 2, parts[0] != ExportNames.key(step.name),
            let producer = pipeline.steps.first(where: { ExportNames.key($0.name) == parts[0] }),
            case .task(let task) = producer.kind,
            let output = pipeline.modules[task.module]?.outputs.first(where: { ExportNames.key($0.name) == parts[1] })
        else { return nil }
        return Reference(.stepOutput(step: producer.name, output: output.name))
    }

    func referenceFromPath(_ path: String) -> Reference? {
        let parts = path.dropFirst("$.steps.".count).split(separator: ".", maxSplits: 2).map(String.init)
        guard parts.count >= 3, parts[1] == "outputs",
            let step = pipeline.steps.first(where: { ExportNames.key($0.name) == parts[0] })
        else { return nil }
        return Reference(.stepOutput(step: step.name, output: parts[2]))
    }

    /// `States.Format('a{}b', x)` → `Std:Join` of the literal pieces and the arguments.
    func join(_ text: String, step: Step) -> JSONValue {
        let inner = text.dropFirst("States.Format(".count).dropLast()
        guard let quoteEnd = inner.dropFirst().firstIndex(of: "'") else { return .string(text) }
        let template = inner[inner.index(after: inner.startIndex)..<quoteEnd]
        var arguments = inner[inner.index(after: quoteEnd)...].split(separator: ",").map {
            $0.trimmingCharacters(in: .whitespaces)
        }
        arguments = arguments.filter { !$0.isEmpty }
        var values: [JSONValue] = []
        var pieces = template.components(separatedBy: "{}")
        let last = pieces.removeLast()
        for (index, piece) in pieces.enumerated() {
            if !piece.isEmpty { values.append(.string(piece)) }
            if index < arguments.count { values.append(expression(arguments[index], step: step)) }
        }
        if !last.isEmpty { values.append(.string(last)) }
        return ["Std:Join": ["On": "", "Values": .array(values)]]
    }

    // MARK: Steps

    mutating func stepDefinition(_ name: String) -> JSONValue? {
        guard let step = pipeline.step(named: name) else { return nil }
        var definition: [String: JSONValue] = ["Name": .string(step.name)]
        let dependsOn = step.after.filter { $0.outcome == .succeeded }.map(\.step).filter { dependency in
            // Data references already order the steps; DependsOn carries only the extra `after` edges.
            !step.references.contains { $0.step == dependency }
                && pipeline.step(named: dependency).map { if case .condition = $0.kind { false } else { true } }
                    ?? false
        }
        switch step.kind {
        case .task(let task):
            guard let module = pipeline.modules[task.module] else { return nil }
            guard let filled = taskStep(step, module: module, inputs: task.inputs, into: &definition) else {
                return nil
            }
            definition = filled
        case .condition(let spec):
            let parts: [Condition]
            if case .and(let all) = spec.condition { parts = all } else { parts = [spec.condition] }
            let (thenNames, elseNames) = branches[step.name] ?? ([], [])
            definition["Type"] = "Condition"
            definition["Arguments"] = [
                "Conditions": .array(parts.map(condition)),
                "IfSteps": .array(thenNames.compactMap { stepDefinition($0) }),
                "ElseSteps": .array(elseNames.compactMap { stepDefinition($0) }),
            ]
        case .fail(let fail):
            definition["Type"] = "Fail"
            let message: JSONValue
            if fail.message.references.isEmpty {
                message = value(.template(fail.message))["Std:Join"]?["Values"]?.array?.first ?? ""
            } else {
                message = value(.template(fail.message))
            }
            definition["Arguments"] = ["ErrorMessage": message]
        case .approval(let approval):
            definition["Type"] = "Callback"
            _ = machine.use("ApprovalQueueUrl", "the SQS queue that receives approval callback tokens")
            var arguments: [String: JSONValue] = ["step": .string(step.name)]
            if let message = approval.message { arguments["message"] = value(.template(message)) }
            definition["Arguments"] = .object(arguments)
            definition["SqsQueueUrl"] = "${ApprovalQueueUrl}"
            definition["OutputParameters"] = [["OutputName": "approved", "OutputType": "Boolean"]]
        case .succeed, .wait, .map:
            diagnostics.append(
                .error(
                    "not-exportable",
                    "step '\(step.name)' (\(step.kind.name)) has no SageMaker Pipelines counterpart",
                    at: step.location, fix: "export it to Step Functions instead (sluice export stepfunctions)"))
            return nil
        }
        if !dependsOn.isEmpty { definition["DependsOn"] = .array(dependsOn.map { .string($0) }) }
        if let cache = step.cache, cache.enabled {
            var config: [String: JSONValue] = ["Enabled": true]
            if let expire = cache.expireAfter { config["ExpireAfter"] = .string(expire.description) }
            definition["CacheConfig"] = .object(config)
        }
        if !step.retry.isEmpty, definition["Type"] != "Condition" {
            definition["RetryPolicies"] = .array(step.retry.filter { $0.maxAttempts > 0 }.map(retryPolicy))
        }
        if let files = propertyFiles[step.name], !files.isEmpty {
            definition["PropertyFiles"] = .array(
                files.sorted().map { output in
                    [
                        "PropertyFileName": .string(output), "OutputName": .string(ExportNames.key(output)),
                        "FilePath": .string(ContainerJob.valueFile),
                    ]
                })
        }
        return .object(definition)
    }

    func retryPolicy(_ rule: RetryRule) -> JSONValue {
        var kinds: [String] = []
        for name in rule.errorEquals {
            switch name {
            case ErrorName.all, ErrorName.taskFailed:
                kinds += [
                    "Step.SERVICE_FAULT", "Step.THROTTLING", "SageMaker.JOB_INTERNAL_ERROR",
                    "SageMaker.CAPACITY_ERROR", "SageMaker.RESOURCE_LIMIT",
                ]
            case let other where other.lowercased().contains("capacity"): kinds.append("SageMaker.CAPACITY_ERROR")
            case let other where other.lowercased().contains("throttl"): kinds.append("Step.THROTTLING")
            default: kinds.append("SageMaker.JOB_INTERNAL_ERROR")
            }
        }
        var unique: [String] = []
        for kind in kinds where !unique.contains(kind) { unique.append(kind) }
        return [
            "ExceptionType": .array(unique.map { .string($0) }),
            "IntervalSeconds": .int(max(1, Int(rule.interval.seconds.rounded()))),
            "BackoffRate": .double(max(1, rule.backoffRate)), "MaxAttempts": .int(rule.maxAttempts),
        ]
    }

    func condition(_ condition: Condition) -> JSONValue {
        switch condition {
        case .and(let parts):
            // SageMaker has no And inside Or/Not: And(a, b) is Not(Or(Not a, Not b)).
            return [
                "Type": "Not",
                "Expression": ["Type": "Or", "Conditions": .array(parts.map { self.condition(.not($0)) })],
            ]
        case .or(let parts): return ["Type": "Or", "Conditions": .array(parts.map(self.condition))]
        case .not(let inner): return ["Type": "Not", "Expression": self.condition(inner)]
        case .compare(let left, let comparison, let right):
            let type = comparison.awsTestName(orEqual: "OrEqualTo")
            let rule: JSONValue = ["Type": .string(type), "LeftValue": operand(left), "RightValue": operand(right)]
            return comparison == .notEqual ? ["Type": "Not", "Expression": rule] : rule
        }
    }

    func operand(_ operand: Condition.Operand) -> JSONValue {
        switch operand {
        case .literal(let value): return value
        case .reference(let reference):
            if case .stepOutput(let step, let output) = reference.root, propertyFiles[step]?.contains(output) == true,
                !reference.path.isEmpty || machine.places[step]?[output] == .s3
            {
                let path = reference.path.map { component -> String in
                    switch component {
                    case .key(let key): key
                    case .index(let index): "[\(index)]"
                    }
                }.joined(separator: ".").replacingOccurrences(of: ".[", with: "[")
                return [
                    "Std:JsonGet": [
                        "PropertyFile": ["Get": .string("Steps.\(step).PropertyFiles.\(output)")],
                        "Path": .string(path),
                    ]
                ]
            }
            return get(reference)
        }
    }

    /// Fills a task step's Type and Arguments; nil when the module has no SageMaker counterpart.
    mutating func taskStep(
        _ step: Step, module: Module, inputs: [String: Binding], into definition: inout [String: JSONValue]
    ) -> [String: JSONValue]? {
        var scope = Scope()
        let plan = machine.plan(for: module)
        switch plan {
        case .processing, .training, .transform, .register:
            let states = machine.taskStates(step, module: module, inputs: inputs, scope: &scope, next: nil)
            let state = plan == .register || states.count == 1 ? states[step.name] : states["\(step.name): transform"]
            guard var parameters = state?["Parameters"]?.object else { return nil }
            for name in ["ProcessingJobName.$", "TrainingJobName.$", "TransformJobName.$"] { parameters[name] = nil }
            switch plan {
            case .processing: definition["Type"] = "Processing"
            case .training: definition["Type"] = "Training"
            case .register: definition["Type"] = "RegisterModel"
            default:
                definition["Type"] = "Transform"
                parameters["ModelName.$"] = nil
                if case .reference(let reference)? = module.inputs.first(where: { $0.type == .model }).flatMap({
                    inputs[$0.name]
                }), let producer = reference.step {
                    notes.append(
                        "Transform step '\(step.name)' needs a model: add a CreateModel (ModelStep) over "
                            + "\(producer)'s model and set its ModelName.")
                }
                parameters["ModelName"] = "${TransformModelName}"
                _ = machine.use("TransformModelName", "the SageMaker model that transform steps use")
            }
            definition["Arguments"] = rewrite(.object(parameters), step: step, inputs: inputs, module: module)
            return definition
        case .lambda, .deploy, .notify:
            definition["Type"] = "Lambda"
            var function = module.cloud?["function"]?.string ?? ""
            if function.isEmpty {
                function = machine.use(
                    "Function" + ExportNames.logicalID(module.name), "the ARN of the Lambda function of \(module.name)")
            }
            definition["FunctionArn"] = .string(function)
            var arguments: [String: JSONValue] = [:]
            for port in module.inputs {
                guard let binding = machine.binding(port, inputs) else { continue }
                arguments[port.name] = value(binding)
            }
            definition["Arguments"] = .object(arguments)
            definition["OutputParameters"] = .array(
                module.outputs.map { ["OutputName": .string($0.name), "OutputType": .string(typeName($0.type))] })
            if plan != .lambda {
                notes.append(
                    "Step '\(step.name)' (\(module.name)) runs as a Lambda step on SageMaker Pipelines: provide a "
                        + "function doing what it does.")
            }
            return definition
        case .glue, .ecs, .http:
            diagnostics.append(
                .error(
                    "not-exportable",
                    "step '\(step.name)' runs a \(module.kind.rawValue) module, which SageMaker Pipelines cannot call",
                    at: step.location, fix: "export it to Step Functions instead (sluice export stepfunctions)"))
            return nil
        case .unsupported:
            _ = machine.taskStates(step, module: module, inputs: inputs, scope: &scope, next: nil)
            return nil
        }
    }
}
