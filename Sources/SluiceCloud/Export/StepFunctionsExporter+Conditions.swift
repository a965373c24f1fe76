import SluiceCore

// Condition steps as Choice states, after a getObject state for each operand a job left in S3.
extension MachineBuilder {
    mutating func emitCondition(_ name: String, then: String, otherwise: String) {
        guard let step = step(name), case .condition(let spec) = step.kind else { return }
        var reads: [(state: String, reference: Reference)] = []
        var seen: Set<String> = []
        for reference in spec.condition.references {
            guard case .stepOutput(let producer, let output) = reference.root,
                places[producer]?[output] == .s3, seen.insert("\(producer)/\(output)").inserted
            else { continue }
            reads.append(("\(name): read \(producer) \(output)".prefix(80).description, reference))
        }
        let choiceName = reads.isEmpty ? name : "\(name): choose".prefix(80).description
        for (index, read) in reads.enumerated() {
            guard case .stepOutput(let producer, let output) = read.reference.root else { continue }
            integrations.insert(.s3Read)
            let stateName = index == 0 ? name : read.state
            let nextName = index + 1 < reads.count ? reads[index + 1].state : choiceName
            let state: [String: JSONValue] = [
                "Type": "Task", "Resource": "arn:aws:states:::aws-sdk:s3:getObject",
                "Comment": .string("Reads \(producer)'s \(output) (value.json) for the condition."),
                "Parameters": [
                    "Bucket": .string(bucket),
                    "Key.$": .string(
                        Intrinsic.format([
                            .text("runs/"), .argument("$.run"),
                            .text("/\(ExportNames.key(producer))/\(ExportNames.key(output))/value.json"),
                        ])),
                ],
                "ResultSelector": ["value.$": "States.StringToJson($.Body)"],
                "ResultPath": .string(StatePath.stepOutput(producer, output)),
                "Next": .string(nextName),
            ]
            states[stateName] = withErrorHandling(.object(state), step: step, catchAll: failureEntry)
        }
        var readPaths: [String: String] = [:]
        for read in reads {
            guard case .stepOutput(let producer, let output) = read.reference.root else { continue }
            readPaths["\(producer)/\(output)"] = StatePath.stepOutput(producer, output) + ".value"
        }
        var rule = choiceRule(spec.condition, readPaths: readPaths)
        if case .object(var fields) = rule {
            fields["Next"] = .string(then)
            rule = .object(fields)
        }
        states[choiceName] = [
            "Type": "Choice", "Choices": [rule], "Default": .string(otherwise),
            "Comment": .string("Condition of step \(name)"),
        ]
    }

    func variablePath(_ reference: Reference, readPaths: [String: String]) -> String {
        if case .stepOutput(let producer, let output) = reference.root, let base = readPaths["\(producer)/\(output)"] {
            return base + StatePath.components(reference.path)
        }
        return referencePath(reference, scope: Scope())
    }

    func choiceRule(_ condition: Condition, readPaths: [String: String]) -> JSONValue {
        switch condition {
        case .and(let parts): return ["And": .array(parts.map { choiceRule($0, readPaths: readPaths) })]
        case .or(let parts): return ["Or": .array(parts.map { choiceRule($0, readPaths: readPaths) })]
        case .not(let inner): return ["Not": choiceRule(inner, readPaths: readPaths)]
        case .compare(var left, var comparison, var right):
            if case .literal = left, case .reference = right {
                swap(&left, &right)
                comparison = comparison.mirrored
            }
            guard case .reference(let reference) = left else {
                // Both literal: decided now.
                let holds = (try? Condition.compare(left, comparison, right).evaluate { _ in .null }) ?? false
                let always: JSONValue = ["Variable": "$.run", "IsPresent": true]
                return holds ? always : ["Not": always]
            }
            let variable = variablePath(reference, readPaths: readPaths)
            let family: String
            let operand: JSONValue
            let usesPath: Bool
            switch right {
            case .literal(let value):
                if value.number != nil {
                    family = "Numeric"
                } else if value.bool != nil {
                    family = "Boolean"
                } else if value == .null {
                    let isNull: JSONValue = ["Variable": .string(variable), "IsNull": true]
                    return comparison == .notEqual ? ["Not": isNull] : isNull
                } else {
                    family = "String"
                }
                operand = value
                usesPath = false
            case .reference(let other):
                switch referenceType(other) {
                case .string, .data, .model, .report: family = "String"
                case .boolean: family = "Boolean"
                default: family = "Numeric"
                }
                operand = .string(variablePath(other, readPaths: readPaths))
                usesPath = true
            }
            let suffix = usesPath ? "Path" : ""
            let test = comparison.awsTestName(orEqual: "Equals")
            let rule: JSONValue = .object(["Variable": .string(variable), family + test + suffix: operand])
            return comparison == .notEqual ? ["Not": rule] : rule
        }
    }
}

extension Condition.Comparison {
    /// The comparison with its operands swapped: `a < b` is `b > a`.
    var mirrored: Self {
        switch self {
        case .less: .greater
        case .lessOrEqual: .greaterOrEqual
        case .greater: .less
        case .greaterOrEqual: .lessOrEqual
        case .equal, .notEqual: self
        }
    }
}
