/// A resolved data reference inside a pipeline: `$.parameters.X`, `$.steps.S.outputs.Y.a.b`, `$.execution.id`.
///
/// The spec layer resolves the seed's chain shorthand `$.outputs.Y` (the previous step's output) into
/// `.stepOutput` with the previous step's name, so the engine never sees it.
public struct Reference: Hashable, Sendable, Codable, CustomStringConvertible {
    public enum Root: Hashable, Sendable, Codable {
        case parameter(String)
        case stepOutput(step: String, output: String)
        case execution(ExecutionField)
        /// The current item inside a `Map` step's iteration (`$.item`).
        case mapItem
    }

    public enum ExecutionField: String, Hashable, Sendable, Codable, CaseIterable {
        case id, name, startTime
    }

    public var root: Root
    /// Keys and indexes into the root value (a JSON output or a report's content).
    public var path: [PathComponent]

    public init(_ root: Root, path: [PathComponent] = []) {
        self.root = root
        self.path = path
    }

    /// The step this reference reads from, if any.
    public var step: String? {
        if case .stepOutput(let step, _) = root { step } else { nil }
    }

    /// Canonical text, as `sluice graph` prints it: `$.steps['Train Model'].outputs.ModelUri`.
    public var description: String {
        var text: String
        switch root {
        case .parameter(let name): text = "$.parameters\(Self.quoted(name))"
        case .stepOutput(let step, let output): text = "$.steps\(Self.quoted(step)).outputs\(Self.quoted(output))"
        case .execution(let field): text = "$.execution.\(field.rawValue)"
        case .mapItem: text = "$.item"
        }
        for component in path {
            switch component {
            case .key(let key): text += Self.quoted(key)
            case .index(let index): text += "[\(index)]"
            }
        }
        return text
    }

    /// `.name` when plain, `['a name']` otherwise.
    private static func quoted(_ name: String) -> String {
        let plain = name.allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" }
        return plain && !name.isEmpty ? ".\(name)" : "['\(name)']"
    }
}

/// A string with `{…}` placeholders, e.g. `"runs/{execution.id}/model"` or `"MSE above {parameters.MseThreshold}"`.
public struct Template: Hashable, Sendable, Codable {
    public enum Part: Hashable, Sendable, Codable {
        case literal(String)
        case reference(Reference)
    }

    public var parts: [Part]

    public init(parts: [Part]) { self.parts = parts }

    public init(literal: String) { self.parts = [.literal(literal)] }

    public var references: [Reference] {
        parts.compactMap { if case .reference(let reference) = $0 { reference } else { nil } }
    }

    /// Substitutes each placeholder with the text of its resolved value (strings unquoted, numbers as written).
    public func render(_ resolve: (Reference) throws -> JSONValue) rethrows -> String {
        var text = ""
        for part in parts {
            switch part {
            case .literal(let literal): text += literal
            case .reference(let reference): text += try resolve(reference).interpolationText
            }
        }
        return text
    }
}

extension JSONValue {
    /// How a value reads inside an interpolated string: a Float reads as written (6.0 stays "6.0", as SageMaker's
    /// Join prints a ParameterFloat), an Integer without a point.
    public var interpolationText: String {
        switch self {
        case .null: "null"
        case .bool(let value): String(value)
        case .int(let value): String(value)
        case .double(let value): String(value)
        case .string(let value): value
        case .array, .object: String(describing: self)
        }
    }
}

/// What a step input is bound to.
public enum Binding: Hashable, Sendable, Codable {
    case literal(JSONValue)
    case reference(Reference)
    case template(Template)

    public var references: [Reference] {
        switch self {
        case .literal: []
        case .reference(let reference): [reference]
        case .template(let template): template.references
        }
    }
}
