import Foundation
import SluiceCore

// Parameters and their defaults.
extension PipelineCompiler {
    func readParameters(_ node: SpecNode?) -> [Pipeline.Parameter] {
        guard let node, node.json != .null else { return [] }
        var specs: [(String, SourceLocation, Fields)] = []
        if let items = node.items {
            for item in items {
                guard let fields = reporter.fields(item, "a parameter") else { continue }
                guard let name = reporter.string(fields["name"], "a parameter's 'name'") else {
                    if fields["name"] == nil {
                        reporter.error(
                            "missing-key", "a parameter has no 'name'", at: item.location, fix: "add 'name:'")
                    }
                    continue
                }
                specs.append((name, fields["name"]!.location, fields))
            }
        } else if let entries = node.entries {
            for entry in entries {
                guard let fields = reporter.fields(entry.value, "parameter '\(entry.key)'") else { continue }
                specs.append((entry.key, entry.keyLocation, fields))
            }
        } else {
            reporter.badValue(node, "'parameters'", expected: "a list of {name, type, default}")
            return []
        }
        var result: [Pipeline.Parameter] = []
        var seen: Set<String> = []
        for (name, location, fields) in specs {
            fields.checkKeys(
                ["name", "type", "default", "description", "allowed_values"], reporter: reporter)
            guard seen.insert(name).inserted else {
                reporter.error(
                    "duplicate-name", "parameter '\(name)' is declared twice", at: location,
                    fix: "remove or rename one of them")
                continue
            }
            var type = ValueType.string
            if let typeNode = fields["type"], let text = reporter.string(typeNode, "the parameter's 'type'") {
                if let parsed = ValueType(specName: text) {
                    type = parsed
                } else {
                    reporter.unknown(
                        "unknown-type", "parameter '\(name)' has unknown type '\(text)'", name: text,
                        among: ValueType.specNames, at: typeNode.location,
                        fix: "use one of \(ValueType.specNames.joined(separator: ", "))", suggestedFix: nil)
                }
            } else if let value = fields["default"]?.json {
                type = ModuleSpec.inferredType(value)
            }
            let allowed = fields["allowed_values"].map { node -> [JSONValue] in
                guard case .array(let values) = node.json else {
                    reporter.badValue(node, "'allowed_values'", expected: "a list")
                    return []
                }
                return values
            }
            var defaultValue: JSONValue?
            if let node = fields["default"] {
                let value = node.json
                if !type.accepts(value) {
                    reporter.error(
                        "bad-default", "parameter '\(name)' is \(type.rawValue) but its default is \(value.typeName)",
                        at: node.location, fix: "write a \(type.rawValue) default or change the type")
                } else if let allowed, !allowed.isEmpty, !allowed.contains(value) {
                    reporter.error(
                        "bad-default", "the default of parameter '\(name)' is not one of its allowed values",
                        at: node.location,
                        fix: "use one of \(allowed.map(\.interpolationText).joined(separator: ", "))")
                } else {
                    defaultValue = Self.anchored(value, type: type, in: location.file)
                }
            }
            let description = fields["description"].flatMap { reporter.string($0, "'description'") }
            result.append(
                Pipeline.Parameter(
                    name: name, type: type, defaultValue: defaultValue, description: description,
                    allowedValues: allowed, location: location))
        }
        return result
    }

    /// A relative local path given as the default of a data, model or report parameter, made absolute against the
    /// folder of the pipeline file, so a pipeline runs the same from any working directory. URIs (`s3://…`) and
    /// absolute paths are left as written.
    static func anchored(_ value: JSONValue, type: ValueType, in file: String) -> JSONValue {
        guard [.data, .model, .report].contains(type), let path = value.string else { return value }
        return .string(SpecPaths.resolve(path, besideFile: file))
    }

    func reportUnknownParameter(_ name: String, at location: SourceLocation) {
        reporter.unknown(
            "unknown-parameter", "unknown parameter '\(name)'", name: name, among: parameters.keys, at: location,
            fix: "declare it under 'parameters:'")
    }
}
