import Foundation
import SluiceCore

// Approval steps (a callback task that waits for its token) and Map steps (a Map state over the items).
extension MachineBuilder {
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
