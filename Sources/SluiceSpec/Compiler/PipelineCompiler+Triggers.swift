import SluiceCore

// Triggers: files in a folder, schedules, registry events.
extension PipelineCompiler {
    func readTriggers(_ node: SpecNode?) -> [Trigger] {
        guard let node, node.json != .null else { return [] }
        guard let items = node.items else {
            reporter.badValue(node, "'triggers'", expected: "a list of triggers")
            return []
        }
        var triggers: [Trigger] = []
        for item in items {
            guard let fields = reporter.fields(item, "a trigger") else { continue }
            fields.checkKeys(
                ["files", "glob", "every", "schedule", "on", "parameters", "parameter", "file_parameter"],
                reporter: reporter)
            var values: [String: JSONValue] = [:]
            if let node = fields["parameters"] {
                if case .object(let object) = node.json {
                    values = object
                } else {
                    reporter.badValue(node, "a trigger's 'parameters'", expected: "a mapping")
                }
                for entry in node.entries ?? [] where parameters[entry.key] == nil {
                    reportUnknownParameter(entry.key, at: entry.keyLocation)
                }
            }
            var fileParameter: String?
            if let node = fields["parameter", "file_parameter"], let name = reporter.string(node, "'parameter'") {
                if parameters[name] == nil { reportUnknownParameter(name, at: node.location) }
                fileParameter = name
            }
            guard let kind = readTriggerKind(fields, at: item.location) else { continue }
            triggers.append(
                Trigger(kind: kind, parameters: values, fileParameter: fileParameter, location: item.location))
        }
        return triggers
    }

    private func readTriggerKind(_ fields: Fields, at location: SourceLocation) -> Trigger.Kind? {
        if let folder = fields["files"] {
            guard let path = reporter.string(folder, "the folder of a files trigger") else { return nil }
            return .files(
                folder: SpecPaths.resolve(path, besideFile: location.file),
                glob: fields["glob"].flatMap { reporter.string($0, "'glob'") })
        }
        if let every = fields["every"] {
            guard let span = reporter.duration(every, "'every'") else { return nil }
            return .schedule(every: span)
        }
        if let node = fields["schedule"] {
            guard let text = reporter.string(node, "'schedule'") else { return nil }
            do {
                _ = try ScheduleExpression(parsing: text)
            } catch {
                reporter.error(
                    "bad-value", "'schedule': \(error.message)", at: node.location,
                    fix: "write schedule: \"rate(5 minutes)\" or \"cron(0 12 * * ? *)\" (UTC)")
                return nil
            }
            return .expression(text)
        }
        if let node = fields["on"] {
            return readRegistryEvent(node)
        }
        reporter.error(
            "missing-key",
            "a trigger needs 'files' (a folder to watch), 'every' or 'schedule' (a schedule) or 'on' (a registry event)",
            at: location,
            fix: "add 'files: data/incoming', 'schedule: \"rate(1 hour)\"' or 'on: {model_approved: {group: G}}'")
        return nil
    }

    /// `on: {model_approved: {group: G}}` or `on: {model_registered: {group: G}}`.
    private func readRegistryEvent(_ node: SpecNode) -> Trigger.Kind? {
        let names = Trigger.RegistryEvent.allCases.map(\.rawValue)
        guard let entries = node.entries, entries.count == 1, let entry = entries.first else {
            reporter.badValue(node, "'on'", expected: "a mapping with one event (\(names.joined(separator: " or ")))")
            return nil
        }
        guard let event = Trigger.RegistryEvent(rawValue: entry.key) else {
            reporter.unknown(
                "unknown-event", "unknown registry event '\(entry.key)'", name: entry.key, among: names,
                at: entry.keyLocation, fix: "write one of: \(names.joined(separator: ", "))")
            return nil
        }
        guard let fields = reporter.fields(entry.value, "'\(entry.key)'") else { return nil }
        fields.checkKeys(["group"], reporter: reporter)
        guard let groupNode = fields["group"] else {
            reporter.error(
                "missing-key", "'\(entry.key)' needs the model package group it watches", at: entry.value.location,
                fix: "write \(entry.key): {group: NAME}")
            return nil
        }
        guard let group = reporter.string(groupNode, "'group'") else { return nil }
        return .registry(event: event, group: group)
    }
}
