import Foundation
import SluiceCore

/// JSON Schemas (draft 2020-12) of module and pipeline specs, for editor completion.
public enum SpecSchema {
    /// The schema of one kind of spec as pretty-printed JSON.
    public static func json(for kind: SpecKind) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let data = (try? encoder.encode(schema(for: kind))) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }

    public static func schema(for kind: SpecKind) -> JSONValue {
        switch kind {
        case .module: module
        case .pipeline: pipeline
        }
    }

    static func object(
        _ properties: [String: JSONValue], required: [String] = [], description: String? = nil,
        additional: Bool = false
    ) -> JSONValue {
        var schema: [String: JSONValue] = [
            "type": "object", "properties": .object(properties), "additionalProperties": .bool(additional),
        ]
        if !required.isEmpty { schema["required"] = .array(required.map { .string($0) }) }
        if let description { schema["description"] = .string(description) }
        return .object(schema)
    }

    static func string(_ description: String) -> JSONValue { ["type": "string", "description": .string(description)] }
    static func enumeration(_ values: [String]) -> JSONValue { ["enum": .array(values.map { .string($0) })] }
    static func list(_ items: JSONValue) -> JSONValue { ["type": "array", "items": items] }
    static let names: JSONValue = ["anyOf": [["type": "string"], ["type": "array", "items": ["type": "string"]]]]
    static let duration: JSONValue = [
        "type": ["string", "number"], "description": "ISO-8601 duration (PT30S, P90D) or seconds",
    ]
    static let header: [String: JSONValue] = ["$schema": "https://json-schema.org/draft/2020-12/schema"]

    static var module: JSONValue {
        let port = object(
            [
                "name": string("Name used in step inputs and references"),
                "type": enumeration(ValueType.specNames), "value": ["description": "Default value"],
                "default": ["description": "Default value"], "description": string("What it is"),
                "optional": ["type": "boolean"],
            ], description: "Unknown attributes (ContentType, …) are kept and passed on", additional: true)
        let implementation: JSONValue = [
            "type": "object",
            "description": "Exactly one of builtin, command, lambda, glue, http, container",
            "properties": [
                "builtin": string("Built-in step name, e.g. train.linear"), "options": ["type": "object"],
                "command": names, "environment": ["type": "object"],
                "lambda": string("file.py:function"), "runtime": ["type": "string"],
                "glue": string("Script path"), "arguments": ["type": "object"],
                "http": string("URL"), "method": ["type": "string"], "headers": ["type": "object"],
                "ca_bundle": string("PEM file of extra certificate authorities for https://"),
                "container": string("Image"),
            ],
            "additionalProperties": false,
        ]
        var schema = object(
            [
                "name": string("Module name, unique among the modules a pipeline sees"),
                "description": ["type": "string"],
                "id": ["type": "string", "format": "uuid"],
                "type": enumeration(Module.Kind.allCases.map(\.rawValue)),
                "inputs": list(["anyOf": [port, ["type": "object", "minProperties": 1, "maxProperties": 1]]]),
                "outputs": list(port),
                "implementation": implementation,
                "cloud": ["type": "object"],
            ], required: ["name"])
        if case .object(var members) = schema {
            members.merge(header) { a, _ in a }
            members["title"] = "Sluice module"
            schema = .object(members)
        }
        return schema
    }

    static var pipeline: JSONValue {
        let retry = object([
            "error_equals": names, "interval": duration, "max_attempts": ["type": "integer", "minimum": 0],
            "backoff_rate": ["type": "number", "minimum": 1], "max_delay": duration,
            "jitter": enumeration(["FULL", "NONE"]),
        ])
        let catchRule = object(["error_equals": names, "next": string("Step to continue at")], required: ["next"])
        let stepProperties: [String: JSONValue] = [
            "name": string("Step name"), "type": enumeration(PipelineCompiler.kinds),
            "description": ["type": "string"], "after": names, "next": string("Next step (state-machine form)"),
            "end": ["type": "boolean"], "module": string("Module name or id"), "module_id": string("Module id"),
            "inputs": ["type": "object", "description": "Input name → literal, $.reference or \"text {reference}\""],
            "retry": list(retry), "catch": list(catchRule), "timeout": duration, "heartbeat": duration,
            "cache": [
                "anyOf": [["type": "boolean"], object(["enabled": ["type": "boolean"], "expire_after": duration])]
            ],
            "condition": ["anyOf": [["type": "string"], list(["type": "string"])]],
            "then": names, "else": names, "message": ["type": "string"], "error": ["type": "string"],
            "notify": names, "seconds": duration, "until": ["type": "string"],
            "items": ["description": "A list or a $.reference to one"],
            "files": string("Folder whose files a Map visits"),
            "glob": ["type": "string"], "max_concurrency": ["type": "integer", "minimum": 0],
        ]
        // Spellings are matched case-insensitively without '_' (ModuleId = module_id); editors see snake_case.
        let step = object(stepProperties, description: "A step; state-machine keys may be PascalCase", additional: true)
        let parameter = object(
            [
                "name": ["type": "string"], "type": enumeration(ValueType.specNames), "default": [:],
                "description": ["type": "string"], "allowed_values": ["type": "array"],
            ], required: ["name"])
        let trigger = object([
            "files": string("Folder to watch"), "glob": ["type": "string"], "every": duration,
            "schedule": string("rate(5 minutes) or cron(0 12 * * ? *), in UTC"),
            "on": object([
                "model_approved": object(["group": ["type": "string"]], required: ["group"]),
                "model_registered": object(["group": ["type": "string"]], required: ["group"]),
            ]),
            "parameters": ["type": "object"], "parameter": string("Receives the file path or the model version"),
            "file_parameter": ["type": "string"],
        ])
        let stateMachine: JSONValue = [
            "type": "object", "properties": ["StartsAt": ["type": "string"]], "required": ["StartsAt"],
            "additionalProperties": step,
        ]
        var schema = object(
            [
                "name": ["type": "string"], "description": ["type": "string"], "type": ["type": "string"],
                "parameters": list(parameter), "steps": ["anyOf": [list(step), stateMachine]],
                "Steps": stateMachine, "on_failure": list(step),
                "max_concurrent_executions": ["type": "integer", "minimum": 1], "modules": list(["type": "string"]),
                "triggers": list(trigger),
            ], required: ["name"])
        if case .object(var members) = schema {
            members.merge(header) { a, _ in a }
            members["title"] = "Sluice pipeline"
            schema = .object(members)
        }
        return schema
    }
}
