import Foundation
public import SluiceCore

/// A pipeline as AWS Step Functions runs it: the ASL definition, its CloudFormation stack, and Sluice's image.
public struct StepFunctionsExport: Sendable {
    /// Amazon States Language (JSONPath). Strings of the form `${Name}` are placeholders that the template's
    /// `DefinitionSubstitutions` (or `sluice aws deploy`) replace; `substitutions` lists them.
    public var definition: JSONValue
    /// The CloudFormation template: the state machine, its roles, the artifact bucket, topics, approval functions.
    public var template: JSONValue
    /// Every placeholder the definition uses, by name, with what it stands for.
    public var substitutions: [String: String]
    /// The Dockerfile of Sluice's own image, when a step runs a built-in module in it.
    public var dockerfile: String?
    /// The module specs that image carries (file name → module JSON), read by `sluice job`.
    public var imageModules: [String: JSONValue]
    /// What the export changed or cannot carry over, one sentence each.
    public var notes: [String]
    /// The local files the machine reads (path → key in the artifact bucket), which `sluice aws deploy` uploads.
    public var uploads: [String: String]
    /// The Lambda modules whose function a placeholder names (placeholder → module name), which `sluice aws deploy`
    /// can create from their handler files.
    public var functionModules: [String: String]
}

/// Turns a validated pipeline into Step Functions' Amazon States Language and a CloudFormation template.
///
/// The exported machine carries one JSON document: `parameters` (the execution input merged over the defaults),
/// `run` (the execution's name, which prefixes every S3 location and job name), and `steps.<Key>.outputs` for each
/// step whose outputs come back in its result. Steps that run as SageMaker, Glue or ECS jobs write their outputs to
/// `s3://<bucket>/runs/<run>/<StepKey>/<OutputKey>/` (values and reports as `value.json` there), so later steps
/// address them by location.
public enum StepFunctionsExporter {
    /// Exports the pipeline; nil with error diagnostics when a step cannot run on AWS as written.
    /// - Parameter pipeline: a validated pipeline.
    public static func export(_ pipeline: Pipeline) -> (export: StepFunctionsExport?, diagnostics: [Diagnostic]) {
        var builder = MachineBuilder(pipeline: pipeline)
        builder.build()
        guard !builder.diagnostics.hasErrors else { return (nil, builder.diagnostics) }
        let template = CloudFormationTemplate(pipeline: pipeline, machine: builder).document
        let export = StepFunctionsExport(
            definition: builder.definition, template: template, substitutions: builder.substitutions,
            dockerfile: builder.usesSluiceImage ? SluiceImage.dockerfile : nil,
            imageModules: builder.usesSluiceImage ? builder.imageModules : [:], notes: builder.notes,
            uploads: builder.uploads, functionModules: builder.lambdaFunctions)
        return (export, builder.diagnostics)
    }
}

/// Where a step's output lives once the step has run.
enum OutputPlace: Hashable {
    /// In the state document at `$.steps.<Key>.outputs.<name>`.
    case state
    /// At `s3://<bucket>/runs/<run>/<StepKey>/<OutputKey>/` (a value or report as `value.json` in it).
    case s3
}

/// The AWS services an exported machine calls, each needing its own IAM statements.
enum Integration: String, Hashable, Comparable {
    case lambda, http, glue, ecs, processing, training, transform, model, modelPackage, endpoint, sns, s3Read
    case distributedMap, approval

    static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
}

struct MachineBuilder {
    let pipeline: Pipeline
    var states: [String: JSONValue] = [:]
    var startAt = ""
    var diagnostics: [Diagnostic] = []
    var notes: [String] = []
    var substitutions: [String: String] = [:]
    /// Local files the machine reads, by path, with their keys in the artifact bucket.
    var uploads: [String: String] = [:]
    var integrations: Set<Integration> = []
    var usesSluiceImage = false
    var imageModules: [String: JSONValue] = [:]
    /// Lambda functions the template takes as parameters (substitution name → module name).
    var lambdaFunctions: [String: String] = [:]
    /// Model package groups named literally by registration steps.
    var modelPackageGroups: Set<String> = []
    /// Addresses that approval e-mails and failure notices go to.
    var emailRecipients: Set<String> = []
    /// The state catching every unhandled failure, when the pipeline has `on_failure` steps.
    var failureEntry: String?
    var places: [String: [String: OutputPlace]] = [:]

    static let doneState = "Sluice: Done"
    static let failedState = "Sluice: Failed"

    init(pipeline: Pipeline) { self.pipeline = pipeline }

    var definition: JSONValue {
        var comment = "Exported by Sluice from pipeline \(pipeline.name)."
        if let description = pipeline.description { comment += " " + description }
        return ["Comment": .string(comment), "StartAt": .string(startAt), "States": .object(states)]
    }

    func placeholder(_ name: String) -> String { "${\(name)}" }

    mutating func use(_ name: String, _ meaning: String) -> String {
        substitutions[name] = meaning
        return placeholder(name)
    }

    var bucket: String { placeholder("ArtifactBucket") }

    // MARK: Building

    mutating func build() {
        _ = use("ArtifactBucket", "the S3 bucket holding inputs and every step's outputs")
        for step in pipeline.steps + pipeline.onFailure { places[step.name] = outputPlaces(step) }
        if pipeline.steps.contains(where: { $0.cache?.enabled == true }) {
            notes.append(
                "Caching (cache:) has no Step Functions counterpart: every execution runs every step again. "
                    + "The SageMaker Pipelines export keeps it as CacheConfig.")
        }
        if !pipeline.onFailure.isEmpty { failureEntry = pipeline.onFailure[0].name }

        emitInitialize()
        let order = topologicalNames(pipeline.steps)
        let handlerSteps = handlerRegion(order)
        let main = order.filter { !handlerSteps.contains($0) }
        let entry = emitChain(main, next: nil)
        states["Sluice: Parameters", default: [:]] = initializeParameters(next: entry ?? Self.doneState)
        if entry == nil { states[Self.doneState] = ["Type": "Succeed"] }
        for root in order where handlerSteps.contains(root) && isHandlerRoot(root) {
            let region = order.filter { handlerSteps.contains($0) && (root == $0 || dependsOn($0, root)) }
            let unclaimed = region.filter { states[$0] == nil }
            _ = emitChain(unclaimed, next: nil)
        }
        if !pipeline.onFailure.isEmpty {
            let names = pipeline.onFailure.map(\.name)
            emitLinear(names, next: Self.failedState, inFailureChain: true)
            states[Self.failedState] = [
                "Type": "Fail", "ErrorPath": "$.failure.Error", "CausePath": "$.failure.Cause",
                "Comment": "The execution failed; on_failure steps have run.",
            ]
        }
        listPlaceholders()
    }

    static let placeholderMeanings = [
        "SageMakerRoleArn": "the IAM role SageMaker jobs, models and endpoints run as",
        "NotificationTopicArn": "the SNS topic for notices and approval e-mails",
        "Region": "the AWS region",
    ]

    /// Names every `${Name}` the definition uses in `substitutions`.
    mutating func listPlaceholders() {
        let text = definition.prettyJSON
        var rest = text[...]
        while let start = rest.range(of: "${") {
            guard let end = rest[start.upperBound...].firstIndex(of: "}") else { break }
            let name = String(rest[start.upperBound..<end])
            if substitutions[name] == nil {
                substitutions[name] = Self.placeholderMeanings[name] ?? "a value for \(name)"
            }
            rest = rest[end...]
        }
    }

    /// Two Pass states: the defaults beside the input, then the input merged over them.
    mutating func emitInitialize() {
        var defaults: [String: JSONValue] = [:]
        for parameter in pipeline.parameters {
            guard var value = parameter.defaultValue else { continue }
            if parameter.type == .data || parameter.type == .model, let text = value.string {
                value = .string(s3Location(text, what: "parameter '\(parameter.name)'"))
            }
            defaults[parameter.name] = value
        }
        startAt = "Sluice: Defaults"
        states[startAt] = [
            "Type": "Pass", "Comment": "Parameter defaults beside the execution input.",
            "Parameters": ["defaults": .object(defaults), "input.$": "$"], "Next": "Sluice: Parameters",
        ]
    }

    func initializeParameters(next: String) -> JSONValue {
        [
            "Type": "Pass", "Comment": "The execution input merged over the defaults; run names S3 locations and jobs.",
            "Parameters": [
                "parameters.$": "States.JsonMerge($.defaults, $.input, false)", "run.$": "$$.Execution.Name",
                "steps": [:],
            ],
            "Next": .string(next),
        ]
    }

    /// An `s3://` URI for a location written in the spec: kept when it is one, else under the bucket's `inputs/`.
    mutating func s3Location(_ text: String, what: String) -> String {
        if text.hasPrefix("s3://") { return text }
        var base = pipeline.location.map { ($0.file as NSString).deletingLastPathComponent } ?? ""
        if !base.hasPrefix("/"), text.hasPrefix("/") {
            // Paths in the spec are made absolute when it is loaded; its own location may still be relative.
            let folder = FileManager.default.currentDirectoryPath as NSString
            base = (folder.appendingPathComponent(base) as NSString).standardizingPath
        }
        var path = text
        if !base.isEmpty, text.hasPrefix(base + "/") {
            path = String(text.dropFirst(base.count + 1))
        } else if text.hasPrefix("/") {
            path = (text as NSString).lastPathComponent
        }
        let relative = path.split(separator: "/").filter { $0 != "." && $0 != ".." }.joined(separator: "/")
        let uri = "s3://\(bucket)/inputs/\(relative)"
        notes.append(
            "The local path '\(text)' of \(what) reads \(uri): `sluice aws deploy` uploads it there (else upload it "
                + "before starting).")
        uploads[text.hasPrefix("/") || base.isEmpty ? text : base + "/" + text] = "inputs/\(relative)"
        return uri
    }

    // MARK: Graph

    func step(_ name: String) -> Step? {
        pipeline.step(named: name) ?? pipeline.onFailure.first { $0.name == name }
    }

    func topologicalNames(_ steps: [Step]) -> [String] {
        var graph = DependencyGraph(nodes: steps.map(\.name))
        for step in steps {
            for dependency in dependencies(of: step) { graph.addEdge(from: dependency, to: step.name) }
        }
        return graph.topologicalOrder() ?? steps.map(\.name)
    }

    /// The steps a step waits for, by edge or by reading their outputs.
    func dependencies(of step: Step) -> Set<String> {
        var names = Set(step.after.map(\.step))
        for reference in step.references { if let name = reference.step { names.insert(name) } }
        names.remove(step.name)
        return names.filter { pipeline.step(named: $0) != nil }
    }

    func dependsOn(_ name: String, _ ancestor: String) -> Bool {
        var seen: Set<String> = []
        var pending = [name]
        while let current = pending.popLast() {
            guard let step = step(current) else { continue }
            for dependency in dependencies(of: step) where seen.insert(dependency).inserted {
                if dependency == ancestor { return true }
                pending.append(dependency)
            }
        }
        return false
    }

    func isHandlerRoot(_ name: String) -> Bool {
        guard let step = step(name), !step.after.isEmpty else { return false }
        return step.after.allSatisfy { $0.outcome == .caught }
    }

    /// Steps reached only through a `catch`: the handlers and what follows them.
    func handlerRegion(_ order: [String]) -> Set<String> {
        var region: Set<String> = []
        for name in order {
            if isHandlerRoot(name) || (step(name).map { !dependencies(of: $0).isDisjoint(with: region) } ?? false) {
                region.insert(name)
            }
        }
        return region
    }

    /// Emits steps in order, splitting at each condition into its branches; returns the chain's first state.
    mutating func emitChain(_ names: [String], next: String?) -> String? {
        guard let index = names.firstIndex(where: { if case .condition = step($0)?.kind { true } else { false } })
        else {
            emitLinear(names, next: next)
            return names.first ?? next
        }
        let conditionName = names[index]
        var thenSet: Set<String> = []
        var elseSet: Set<String> = []
        for name in names[(index + 1)...] {
            guard let step = step(name) else { continue }
            let dependencies = dependencies(of: step)
            let inThen =
                step.after.contains { $0.step == conditionName && $0.outcome == .conditionTrue }
                || !dependencies.isDisjoint(with: thenSet)
            let inElse =
                step.after.contains { $0.step == conditionName && $0.outcome == .conditionFalse }
                || !dependencies.isDisjoint(with: elseSet)
            if inThen && !inElse { thenSet.insert(name) }
            if inElse && !inThen { elseSet.insert(name) }
        }
        let rest = names[(index + 1)...].filter { !thenSet.contains($0) && !elseSet.contains($0) }
        let restEntry = emitChain(rest, next: next)
        let thenEntry = emitChain(names.filter(thenSet.contains), next: restEntry)
        let elseEntry = emitChain(names.filter(elseSet.contains), next: restEntry)
        emitCondition(conditionName, then: thenEntry ?? doneState(), otherwise: elseEntry ?? doneState())
        emitLinear(Array(names[..<index]), next: conditionName)
        return names.first
    }

    mutating func doneState() -> String {
        states[Self.doneState] = ["Type": "Succeed"]
        return Self.doneState
    }

    mutating func emitLinear(_ names: [String], next: String?, inFailureChain: Bool = false) {
        for (index, name) in names.enumerated() {
            guard let step = step(name) else { continue }
            emitStep(step, next: index + 1 < names.count ? names[index + 1] : next, inFailureChain: inFailureChain)
        }
    }

    // MARK: Steps

    mutating func emitStep(_ step: Step, next: String?, inFailureChain: Bool) {
        let catchAll = inFailureChain ? Self.failedState : failureEntry
        var emitted: [String: JSONValue] = [:]
        switch step.kind {
        case .task(let task):
            guard let module = pipeline.modules[task.module] else { return }
            var scope = Scope()
            emitted = taskStates(step, module: module, inputs: task.inputs, scope: &scope, next: next)
        case .condition:
            return
        case .fail(let fail):
            var state: [String: JSONValue] = ["Type": "Fail", "Error": .string(fail.error)]
            let (isPath, message) = stringExpression(.template(fail.message), type: .string)
            state[isPath ? "CausePath" : "Cause"] = .string(message)
            emitted[step.name] = .object(state)
        case .succeed:
            emitted[step.name] = ["Type": "Succeed"]
        case .approval(let approval):
            emitted[step.name] = approvalState(step, approval, next: next)
        case .wait(let wait):
            emitted = waitStates(step, wait, next: next)
        case .map(let map):
            emitted = mapStates(step, map, next: next)
        }
        for (name, var state) in emitted {
            if state["Type"] == "Task" || state["Type"] == "Map" {
                state = withErrorHandling(state, step: step, catchAll: catchAll, retries: state["Type"] == "Task")
            }
            states[name] = state
        }
    }

    /// Step Functions' Retry, Catch, TimeoutSeconds and HeartbeatSeconds from the step's own rules, then a catch-all
    /// into the on_failure chain.
    func withErrorHandling(
        _ state: JSONValue, step: Step, catchAll: String?, catches: Bool = true, retries: Bool = true
    ) -> JSONValue {
        guard var fields = state.object else { return state }
        if retries, !step.retry.isEmpty {
            fields["Retry"] = .array(
                step.retry.map { rule in
                    var retrier: [String: JSONValue] = [
                        "ErrorEquals": .array(rule.errorEquals.map { .string($0) }),
                        "IntervalSeconds": .int(max(1, Int(rule.interval.seconds.rounded()))),
                        "MaxAttempts": .int(rule.maxAttempts), "BackoffRate": .double(max(1, rule.backoffRate)),
                    ]
                    if let maxDelay = rule.maxDelay { retrier["MaxDelaySeconds"] = .int(max(1, Int(maxDelay.seconds))) }
                    if rule.jitter == .full { retrier["JitterStrategy"] = "FULL" }
                    return .object(retrier)
                })
        }
        var catchers: [JSONValue] = fields["Catch"]?.array ?? []
        guard catches else { return .object(fields) }
        catchers += step.catches.map { rule in
            [
                "ErrorEquals": .array(rule.errorEquals.map { .string($0) }), "Next": .string(rule.next),
                "ResultPath": "$.failure",
            ]
        }
        let catchesAll = step.catches.contains { $0.errorEquals.contains(ErrorName.all) }
        if let catchAll, !catchesAll {
            catchers.append([
                "ErrorEquals": [.string(ErrorName.all)], "Next": .string(catchAll), "ResultPath": "$.failure",
            ])
        }
        if !catchers.isEmpty { fields["Catch"] = .array(catchers) }
        if fields["TimeoutSeconds"] == nil, let timeout = step.timeout {
            fields["TimeoutSeconds"] = .int(max(1, Int(timeout.seconds.rounded(.up))))
        }
        if let heartbeat = step.heartbeat, fields["Type"] == "Task" {
            fields["HeartbeatSeconds"] = .int(max(1, Int(heartbeat.seconds.rounded(.up))))
        }
        return .object(fields)
    }

    /// Ends a state with `Next`, or `End` when nothing follows.
    func link(_ state: [String: JSONValue], next: String?) -> JSONValue {
        var state = state
        if let next { state["Next"] = .string(next) } else { state["End"] = true }
        return .object(state)
    }

    mutating func waitStates(_ step: Step, _ wait: WaitSpec, next: String?) -> [String: JSONValue] {
        var state: [String: JSONValue] = ["Type": "Wait"]
        if let seconds = wait.seconds {
            state["Seconds"] = .int(max(0, Int(seconds.seconds.rounded())))
        } else if let until = wait.until {
            let (isPath, text) = stringExpression(.template(until), type: .string)
            if !isPath {
                state["Timestamp"] = .string(text)
            } else if until.parts.count == 1, case .reference = until.parts[0] {
                state["TimestampPath"] = .string(text)
            } else {
                let computed = "\(step.name): until"
                state["TimestampPath"] = .string("$.steps.\(ExportNames.key(step.name)).outputs.until")
                var result: [String: JSONValue] = [
                    "Type": "Pass", "Parameters": ["outputs": ["until.$": .string(text)]],
                    "ResultPath": .string("$.steps.\(ExportNames.key(step.name))"),
                ]
                result["Next"] = .string(computed)
                return [step.name: .object(result), computed: link(state, next: next)]
            }
        } else {
            state["Seconds"] = 0
        }
        return [step.name: link(state, next: next)]
    }
}
