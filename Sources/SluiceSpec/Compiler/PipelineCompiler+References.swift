import Foundation
import SluiceCore

// Bindings, templates, conditions and the references they read, with their static types.
extension PipelineCompiler {
    func binding(
        _ node: SpecNode, in step: RawStep, inputType: ValueType, inputName: String? = nil
    ) -> Binding? {
        let value = node.json
        let target = inputName.map { "input '\($0)'" } ?? "this field"
        guard case .string(let text) = value else {
            if !inputType.accepts(value) {
                reporter.error(
                    "type-mismatch",
                    "\(target) of step '\(step.name)' is \(inputType.rawValue) but gets \(value.typeName)",
                    at: node.location, fix: "write a \(inputType.rawValue) value")
            }
            return .literal(value)
        }
        if text.trimmingCharacters(in: .whitespaces).hasPrefix("$") {
            guard let (reference, type) = resolve(text, at: node.location, in: step) else { return nil }
            if let type, !type.isAssignable(to: inputType), type != .json {
                reporter.error(
                    "type-mismatch",
                    "\(target) of step '\(step.name)' is \(inputType.rawValue) but \(reference) is \(type.rawValue)",
                    at: node.location, fix: "bind a \(inputType.rawValue) value, or change the input's type")
            }
            return .reference(reference)
        }
        let template = template(node, in: step) ?? Template(literal: text)
        if template.references.isEmpty {
            if !inputType.accepts(value) {
                reporter.error(
                    "type-mismatch", "\(target) of step '\(step.name)' is \(inputType.rawValue) but gets a string",
                    at: node.location, fix: "write a \(inputType.rawValue) value (unquoted)")
            }
            return .literal(value)
        }
        if !ValueType.string.isAssignable(to: inputType) {
            reporter.error(
                "type-mismatch",
                "\(target) of step '\(step.name)' is \(inputType.rawValue) but gets an interpolated string",
                at: node.location, fix: "bind a reference such as $.parameters.X instead of a string")
        }
        return .template(template)
    }

    func template(_ node: SpecNode, in step: RawStep) -> Template? {
        guard let text = reporter.string(node, "a message") else { return nil }
        var parts: [Template.Part] = []
        for part in TemplateSyntax.parts(text) {
            switch part {
            case .literal(let literal): parts.append(.literal(literal))
            case .reference(let reference, let offset):
                var location = node.location
                // Plain and single-line scalars start at the node; quoted ones one column later.
                location.column += offset + (node.value.isQuoted ? 1 : 0)
                if let (resolved, _) = resolve(reference, at: location, in: step) { parts.append(.reference(resolved)) }
            }
        }
        return Template(parts: parts)
    }

    func condition(_ node: SpecNode, in step: RawStep) -> Condition? {
        let texts: [(String, SourceLocation)]
        if let items = node.items {
            texts = items.compactMap { item in reporter.string(item, "a condition").map { ($0, item.location) } }
        } else if let text = reporter.string(node, "'condition'") {
            texts = [(text, node.location)]
        } else {
            return nil
        }
        var conditions: [Condition] = []
        final class Types { var byReference: [Reference: ValueType] = [:] }
        let types = Types()
        for (text, location) in texts {
            let parsed = ConditionSyntax.parse(text) { reference in
                guard let (resolved, type) = self.resolve(reference, at: location, in: step, readingShapes: true) else {
                    return nil
                }
                if let type { types.byReference[resolved] = type }
                return resolved
            }
            switch parsed {
            case .success(let condition):
                conditions.append(condition)
                checkComparisons(condition, types: types.byReference, at: location, in: step)
            case .failure(let error):
                reporter.error(
                    "bad-expression", "condition of step '\(step.name)' cannot be read: \(error)", at: location,
                    fix: "write e.g. '$.steps.Evaluate.outputs.report.regression_metrics.r2.value >= 0.2'")
            }
        }
        guard conditions.count == texts.count, !conditions.isEmpty else { return nil }
        return conditions.count == 1 ? conditions[0] : .and(conditions)
    }

    /// Reports comparisons that can never succeed statically: a number against a string or a boolean.
    func checkComparisons(
        _ condition: Condition, types: [Reference: ValueType], at location: SourceLocation, in step: RawStep
    ) {
        func category(_ operand: Condition.Operand) -> String? {
            switch operand {
            case .literal(let value):
                switch value {
                case .int, .double: return "a number"
                case .string: return "a string"
                case .bool: return "a boolean"
                default: return nil
                }
            case .reference(let reference):
                switch types[reference] {
                case .integer, .float: return "a number"
                case .string, .data, .model: return "a string"
                case .boolean: return "a boolean"
                default: return nil
                }
            }
        }
        switch condition {
        case .compare(let left, let comparison, let right):
            guard let a = category(left), let b = category(right), a != b else { return }
            reporter.error(
                "type-mismatch", "condition of step '\(step.name)' compares \(a) \(comparison.rawValue) \(b)",
                at: location, fix: "compare values of the same type (quote strings, leave numbers bare)")
        case .and(let conditions), .or(let conditions):
            for inner in conditions { checkComparisons(inner, types: types, at: location, in: step) }
        case .not(let inner):
            checkComparisons(inner, types: types, at: location, in: step)
        }
    }

    /// Resolves reference text read by `step`, returning it with its static type (nil type: unknown shape).
    /// `readingShapes`: follow paths into built-in outputs of known shape (conditions compare what they find).
    func resolve(
        _ text: String, at location: SourceLocation, in step: RawStep, readingShapes: Bool = false
    ) -> (Reference, ValueType?)? {
        let syntax: ReferenceSyntax
        switch ReferenceSyntax.parse(text) {
        case .success(let parsed): syntax = parsed
        case .failure(let error):
            reporter.error(
                "bad-reference", "'\(text)' is not a valid reference: \(error)", at: location,
                fix:
                    "write $.parameters.NAME, $.steps.STEP.outputs.NAME, $.steps['A Step'].outputs.NAME or $.execution.id"
            )
            return nil
        }
        switch syntax.root {
        case .parameter(let name):
            guard let parameter = parameters[name] else {
                reportUnknownParameter(name, at: location)
                return nil
            }
            return (Reference(.parameter(name), path: syntax.path), syntax.path.isEmpty ? parameter.type : .json)
        case .execution(let field):
            guard let resolved = Reference.ExecutionField(rawValue: field) else {
                let names = Reference.ExecutionField.allCases.map(\.rawValue)
                let suggestion = closestMatch(to: field, in: names)
                reporter.error(
                    "bad-reference",
                    "unknown execution field '\(field)'" + (suggestion.map { "; did you mean '\($0)'?" } ?? ""),
                    at: location, fix: "use $.execution.id, $.execution.name or $.execution.startTime")
                return nil
            }
            return (Reference(.execution(resolved)), .string)
        case .item:
            guard step.kind == "Map" else {
                reporter.error(
                    "bad-reference", "'$.item' is only defined inside a Map step", at: location,
                    fix: "use $.item in the inputs of a Map step")
                return nil
            }
            return (Reference(.mapItem, path: syntax.path), nil)
        case .previousOutput(let output):
            guard let before = previous[step.name] else {
                reporter.error(
                    "unknown-step", "'$.outputs.\(output)' in step '\(step.name)' has no single previous step to read",
                    at: location, fix: "write $.steps.STEP.outputs.\(output) naming the step")
                return nil
            }
            return stepOutput(
                before, output, path: syntax.path, at: location, in: step, readingShapes: readingShapes)
        case .stepOutput(let name, let output):
            guard stepName(name, at: location, role: "a reference in step '\(step.name)'") != nil else { return nil }
            return stepOutput(name, output, path: syntax.path, at: location, in: step, readingShapes: readingShapes)
        }
    }

    func stepOutput(
        _ name: String, _ output: String, path: [PathComponent], at location: SourceLocation, in step: RawStep,
        readingShapes: Bool = false
    ) -> (Reference, ValueType?)? {
        guard let source = rawByName[name] else { return nil }
        if step.onFailure {
            reporter.error(
                "branch-reference", "on_failure step '\(step.name)' reads step '\(name)', which may not have run",
                at: location, fix: "read parameters or $.execution fields in on_failure steps")
            return nil
        }
        let reference = Reference(.stepOutput(step: name, output: output), path: path)
        let module = self.module(of: source)
        if module == nil, source.kind == "Task" || source.kind == "Map" {
            // Its unknown module is reported once, where it is named; its outputs are simply not known.
            dataReferences[step.name, default: []].append((name, location))
            return (reference, nil)
        }
        let outputs = module?.outputs ?? []
        guard let port = outputs.first(where: { $0.name == output }) else {
            reporter.unknown(
                "unknown-output", "step '\(name)' has no output '\(output)'", name: output,
                among: outputs.map(\.name), at: location,
                fix: outputs.isEmpty
                    ? "a \(source.kind) step has no outputs"
                    : "read one of: \(outputs.map(\.name).joined(separator: ", "))")
            return nil
        }
        if name == step.name {
            reporter.error(
                "cycle", "step '\(step.name)' reads its own output '\(output)'", at: location,
                fix: "read an output of an earlier step")
            return nil
        }
        dataReferences[step.name, default: []].append((name, location))
        if source.kind == "Map" { return (reference, .json) }
        guard !path.isEmpty else { return (reference, port.type) }
        guard readingShapes, case .builtin(let builtin, _) = module?.implementation,
            let shape = BuiltinCatalog.shape(of: output, builtin: builtin)
        else { return (reference, .json) }
        return (reference, builtinPathType(shape, path: path, reference: reference, builtin: builtin, at: location))
    }

    /// The type at `path` inside a built-in's output of known shape; a path the output can never have is reported.
    func builtinPathType(
        _ shape: ValueShape, path: [PathComponent], reference: Reference, builtin: String, at location: SourceLocation
    ) -> ValueType? {
        for count in 1...path.count {
            guard let found = shape.shape(at: path.prefix(count)) else {
                let parent = shape.shape(at: path.prefix(count - 1))
                let suggestion = closestMatch(to: path[count - 1].description, in: parent?.propertyNames ?? [])
                let known = parent?.propertyNames ?? []
                reporter.error(
                    "bad-reference",
                    "\(reference) reads '\(path[count - 1])', which the '\(builtin)' output never has"
                        + (suggestion.map { "; did you mean '\($0)'?" } ?? ""),
                    at: location,
                    fix: suggestion.map { "write '\($0)'" }
                        ?? (known.isEmpty
                            ? "stop the path before '\(path[count - 1])'"
                            : "read one of: \(known.joined(separator: ", "))"))
                return nil
            }
            if count == path.count { return found.valueType ?? .json }
        }
        return .json
    }

    /// The module a Task or Map step runs, nil when it names none that is known.
    func module(of step: RawStep) -> Module? {
        guard step.kind == "Task" || step.kind == "Map",
            let reference = step.fields["module", "module_id"]?.scalarText
        else { return nil }
        return modulesByName[reference] ?? modulesByID[reference.lowercased()]
    }
}
