import SluiceCore

/// Reads module specs: `name`, `description`, `id`, `type`, `inputs`, `outputs`, `implementation`, `cloud`.
enum ModuleSpec {
    static let keys = ["name", "description", "id", "type", "inputs", "outputs", "implementation", "cloud"]
    static let portKeys = ["name", "type", "value", "default", "description", "optional"]
    static let implementationKinds = ["builtin", "command", "lambda", "glue", "http", "container"]

    /// Builds a module from a parsed file, reporting every problem; nil only when nothing usable is there.
    static func module(
        from root: SpecNode, baseDirectory: String, options: ValidationOptions, reporter: Reporter
    ) -> Module? {
        guard let fields = reporter.fields(root, "a module") else { return nil }
        fields.checkKeys(keys, reporter: reporter)
        let name = reporter.string(fields["name"], "the module's 'name'")
        if name == nil, fields["name"] == nil {
            reporter.error(
                "missing-key", "the module has no 'name'", at: root.location, fix: "add 'name: MyModule' at the top")
        }
        var id: String?
        if let node = fields["id"], let text = reporter.string(node, "'id'") {
            if isUUID(text) {
                id = text.lowercased()
            } else {
                reporter.error(
                    "bad-value", "module id '\(text)' is not a UUID", at: node.location,
                    fix: "write a UUID such as 123e4567-e89b-12d3-a456-426614174000, or remove 'id'")
            }
        }
        let implementation = fields["implementation"].flatMap {
            self.implementation($0, options: options, reporter: reporter)
        }
        var kind: Module.Kind
        if let node = fields["type"], let text = reporter.string(node, "the module's 'type'") {
            if let found = Module.Kind.allCases.first(where: { $0.rawValue.lowercased() == text.lowercased() }) {
                kind = found
            } else {
                let names = Module.Kind.allCases.map(\.rawValue)
                let suggestion = closestMatch(to: text, in: names)
                reporter.error(
                    "unknown-type",
                    "unknown module type '\(text)'" + (suggestion.map { "; did you mean '\($0)'?" } ?? ""),
                    at: node.location, fix: "use one of \(names.joined(separator: ", "))")
                kind = .command
            }
        } else {
            kind = implementation.map(Self.kind(for:)) ?? .command
        }
        let inputs = ports(fields["inputs"], direction: "input", reporter: reporter)
        let outputs = ports(fields["outputs"], direction: "output", reporter: reporter)
        if fields["type"] == nil, implementation == nil {
            if trainsBuiltinAlgorithm(inputs) {
                kind = .sageMakerTraining
            } else {
                reporter.warning(
                    "missing-type", "module '\(name ?? "?")' has no 'type' and no 'implementation'; read as a Command",
                    at: root.location, fix: "add 'type:' (e.g. Builtin, Command, Lambda) and an 'implementation'")
            }
        }
        let runnable =
            implementation
            ?? sageMakerBuiltin(kind: kind, inputs: inputs, inputsNode: fields["inputs"], reporter: reporter)
        var cloud: [String: JSONValue]?
        if let node = fields["cloud"] {
            if case .object(let object) = node.json {
                cloud = object
            } else {
                reporter.badValue(node, "'cloud'", expected: "a mapping")
            }
        }
        let description = fields["description"].flatMap { reporter.string($0, "'description'") }
        return Module(
            name: name ?? "", description: description, id: id, kind: kind, inputs: inputs, outputs: outputs,
            implementation: runnable, cloud: cloud, baseDirectory: baseDirectory, location: root.location)
    }

    static func kind(for implementation: Implementation) -> Module.Kind {
        switch implementation {
        case .builtin: .builtin
        case .command: .command
        case .lambda: .lambda
        case .glue: .glue
        case .http: .http
        case .container: .container
        }
    }

    static func ports(_ node: SpecNode?, direction: String, reporter: Reporter) -> [Module.Port] {
        guard let node else { return [] }
        if case .null = node.json { return [] }
        guard let items = node.items else {
            reporter.badValue(node, "the module's \(direction)s", expected: "a list of {name, type, …}")
            return []
        }
        var ports: [Module.Port] = []
        var seen: [String: SourceLocation] = [:]
        for item in items {
            guard let port = port(item, direction: direction, reporter: reporter) else { continue }
            if let first = seen[port.name] {
                reporter.error(
                    "duplicate-name", "\(direction) '\(port.name)' is declared twice (first at \(first))",
                    at: item.location, fix: "rename or remove one of them")
                continue
            }
            seen[port.name] = item.location
            ports.append(port)
        }
        return ports
    }

    static func port(_ item: SpecNode, direction: String, reporter: Reporter) -> Module.Port? {
        guard let entries = item.entries else {
            reporter.badValue(item, "a module \(direction)", expected: "a mapping such as {name: X, type: String}")
            return nil
        }
        let fields = Fields(node: item, entries: entries, what: "\(direction)")
        // `- HyperParameters: {…}`: a single key that is not a port field names a JSON input whose value it holds.
        if entries.count == 1, !fields.has("name"), let entry = entries.first,
            !portKeys.contains(where: { Fields.canonical($0) == Fields.canonical(entry.key) })
        {
            return Module.Port(
                name: entry.key, type: .json, value: entry.value.json, location: entry.keyLocation)
        }
        guard let nameNode = fields["name"], let name = reporter.string(nameNode, "a module \(direction)'s 'name'")
        else {
            if fields["name"] == nil {
                reporter.error(
                    "missing-key", "a module \(direction) has no 'name'", at: item.location,
                    fix: "add 'name:' to this \(direction)")
            }
            return nil
        }
        let valueNode = fields["value", "default"]
        let value = valueNode.map(\.json).flatMap { $0 == .null ? nil : $0 }
        var type: ValueType
        if let typeNode = fields["type"], let text = reporter.string(typeNode, "the \(direction)'s 'type'") {
            guard let parsed = ValueType(specName: text) else {
                reporter.unknown(
                    "unknown-type", "\(direction) '\(name)' has unknown type '\(text)'", name: text,
                    among: ValueType.specNames, at: typeNode.location,
                    fix: "use one of \(ValueType.specNames.joined(separator: ", "))", suggestedFix: nil)
                return nil
            }
            type = parsed
        } else if let value {
            type = inferredType(value)
        } else {
            reporter.error(
                "missing-key", "\(direction) '\(name)' has neither 'type' nor 'value'", at: item.location,
                fix: "add 'type:' (one of \(ValueType.specNames.joined(separator: ", ")))")
            return nil
        }
        if let value, let valueNode, !type.accepts(value) {
            reporter.error(
                "bad-default", "\(direction) '\(name)' is \(type.rawValue) but its value is \(value.typeName)",
                at: valueNode.location, fix: "write a \(type.rawValue) value or change the type")
        }
        var optional = false
        if let node = fields["optional"] { optional = reporter.bool(node, "'optional'") ?? false }
        let description = fields["description"].flatMap { reporter.string($0, "'description'") }
        var attributes: [String: JSONValue] = [:]
        for entry in entries where !portKeys.contains(where: { Fields.canonical($0) == Fields.canonical(entry.key) }) {
            attributes[entry.key] = entry.value.json
        }
        return Module.Port(
            name: name, type: type, value: value, description: description, optional: optional,
            attributes: attributes, location: nameNode.location)
    }

    static func inferredType(_ value: JSONValue) -> ValueType {
        switch value {
        case .bool: .boolean
        case .int: .integer
        case .double: .float
        case .string: .string
        default: .json
        }
    }

    static func implementation(_ node: SpecNode, options: ValidationOptions, reporter: Reporter) -> Implementation? {
        guard let fields = reporter.fields(node, "'implementation'") else { return nil }
        let present = implementationKinds.filter { fields.has($0) }
        guard present.count == 1, let kind = present.first else {
            reporter.error(
                present.isEmpty ? "missing-key" : "bad-value",
                present.isEmpty
                    ? "the implementation names no way to run: expected one of \(implementationKinds.joined(separator: ", "))"
                    : "the implementation has several kinds (\(present.joined(separator: ", "))); keep one",
                at: node.location, fix: "write e.g. 'implementation: {builtin: train.linear}'")
            if present.isEmpty { fields.checkKeys(implementationKinds, reporter: reporter) }
            return nil
        }
        func strings(_ node: SpecNode?, _ name: String) -> [String] {
            guard let node else { return [] }
            if let text = node.scalarText, node.items == nil { return text.split(separator: " ").map(String.init) }
            return (node.items ?? []).compactMap { reporter.string($0, name) }
        }
        func stringMap(_ node: SpecNode?, _ name: String) -> [String: String] {
            guard let node, let fields = reporter.fields(node, name) else { return [:] }
            var map: [String: String] = [:]
            for entry in fields.entries {
                switch entry.value.json {
                case .string(let text): map[entry.key] = text
                case .int, .double, .bool: map[entry.key] = entry.value.scalarText
                default: reporter.badValue(entry.value, "'\(entry.key)'", expected: "a string")
                }
            }
            return map
        }
        switch kind {
        case "builtin":
            fields.checkKeys(["builtin", "options"], reporter: reporter)
            guard let nameNode = fields["builtin"], let name = reporter.string(nameNode, "the builtin's name") else {
                return nil
            }
            if let known = options.knownBuiltins, !known.contains(name) {
                let suggestion = closestMatch(to: name, in: known.sorted())
                reporter.error(
                    "unknown-builtin",
                    "unknown built-in step '\(name)'" + (suggestion.map { "; did you mean '\($0)'?" } ?? ""),
                    at: nameNode.location,
                    fix: suggestion.map { "write '\($0)'" } ?? "use one of \(known.sorted().joined(separator: ", "))")
            }
            var options: [String: JSONValue] = [:]
            if let node = fields["options"] {
                if case .object(let object) = node.json {
                    options = object
                } else if node.json != .null {
                    reporter.badValue(node, "'options'", expected: "a mapping")
                }
            }
            return .builtin(name: name, options: options)
        case "command":
            fields.checkKeys(["command", "environment"], reporter: reporter)
            let arguments = strings(fields["command"], "a command argument")
            guard !arguments.isEmpty else {
                reporter.badValue(fields["command"]!, "'command'", expected: "a program and its arguments")
                return nil
            }
            return .command(arguments: arguments, environment: stringMap(fields["environment"], "'environment'"))
        case "lambda":
            fields.checkKeys(["lambda", "runtime"], reporter: reporter)
            guard let handlerNode = fields["lambda"], let handler = reporter.string(handlerNode, "the handler") else {
                return nil
            }
            if !handler.contains(":") {
                reporter.error(
                    "bad-value", "handler '\(handler)' must be 'file.py:function'", at: handlerNode.location,
                    fix: "write e.g. 'lambda: handler.py:main'")
            }
            let runtime = fields["runtime"].flatMap { reporter.string($0, "'runtime'") } ?? "python3"
            return .lambda(handler: handler, runtime: runtime)
        case "glue":
            fields.checkKeys(["glue", "arguments"], reporter: reporter)
            guard let script = reporter.string(fields["glue"], "the Glue script") else { return nil }
            return .glue(script: script, arguments: stringMap(fields["arguments"], "'arguments'"))
        case "http":
            fields.checkKeys(["http", "method", "headers", "ca_bundle"], reporter: reporter)
            guard let urlNode = fields["http"], let url = reporter.string(urlNode, "the URL") else { return nil }
            if !(url.hasPrefix("http://") || url.hasPrefix("https://")) {
                reporter.error(
                    "bad-value", "'\(url)' is not an http(s) URL", at: urlNode.location,
                    fix: "write e.g. 'http: http://localhost:8080/run'")
            }
            let method = fields["method"].flatMap { reporter.string($0, "'method'") } ?? "POST"
            return .http(
                url: url, method: method.uppercased(), headers: stringMap(fields["headers"], "'headers'"),
                caBundle: fields["ca_bundle"].flatMap { reporter.string($0, "'ca_bundle'") })
        default:
            fields.checkKeys(["container", "command"], reporter: reporter)
            guard let image = reporter.string(fields["container"], "the container image") else { return nil }
            return .container(image: image, command: strings(fields["command"], "a command argument"))
        }
    }
}
