/// A reusable unit of work with a typed interface and an implementation that runs locally.
public struct Module: Hashable, Sendable, Codable {
    /// What kind of unit a module stands for. The first seven name the AWS services of the seed designs; each maps
    /// to a local executor (a built-in step, a subprocess, a Python handler, an HTTP call or a container).
    public enum Kind: String, Hashable, Sendable, Codable, CaseIterable {
        case lambda = "Lambda"
        case sageMakerProcessing = "SageMakerProcessing"
        case sageMakerTraining = "SageMakerTraining"
        case sageMakerTransform = "SageMakerTransform"
        case glue = "Glue"
        case ecs = "ECS"
        case builtin = "Builtin"
        case command = "Command"
        case http = "HTTP"
        case container = "Container"
    }

    /// One input or output of a module.
    @MemberwiseInit
    public struct Port: Hashable, Sendable, Codable {
        public var name: String
        public var type: ValueType
        /// The default value; an input without one (and not `optional`) must be bound by every step using it.
        public var value: JSONValue?
        public var description: String?
        public var optional: Bool = false
        /// Attributes the spec carries that Sluice does not interpret (`ContentType`, `fields_to_process`, …),
        /// kept so executors and export can pass them on.
        public var attributes: [String: JSONValue] = [:]
        public var location: SourceLocation?

        /// Whether a step must bind this input.
        public var isRequired: Bool { value == nil && !optional }
    }

    public var name: String
    public var description: String?
    public var id: String?
    public var kind: Kind
    public var inputs: [Port]
    public var outputs: [Port]
    public var implementation: Implementation?
    /// Where the module's AWS counterpart lives, for export; nil when the module only runs locally.
    public var cloud: [String: JSONValue]?
    /// The folder of the spec file, against which relative paths in the implementation resolve.
    public var baseDirectory: String
    public var location: SourceLocation?
    /// The catalog version this module came from; nil for a module read from the pipeline's own folders.
    public var catalog: CatalogReference?

    public init(
        name: String, description: String? = nil, id: String? = nil, kind: Kind, inputs: [Port] = [],
        outputs: [Port] = [], implementation: Implementation? = nil, cloud: [String: JSONValue]? = nil,
        baseDirectory: String = ".", location: SourceLocation? = nil
    ) {
        self.name = name
        self.description = description
        self.id = id
        self.kind = kind
        self.inputs = inputs
        self.outputs = outputs
        self.implementation = implementation
        self.cloud = cloud
        self.baseDirectory = baseDirectory
        self.location = location
    }

    public func input(named name: String) -> Port? { inputs.first { $0.name == name } }
    public func output(named name: String) -> Port? { outputs.first { $0.name == name } }
}

/// How a module runs on this machine.
public enum Implementation: Hashable, Sendable, Codable {
    /// A built-in Swift step, by registered name (`train.linear`, `split`, …), with fixed options.
    case builtin(name: String, options: [String: JSONValue])
    /// A subprocess; `arguments[0]` is the program. Paths are relative to the module's folder.
    case command(arguments: [String], environment: [String: String])
    /// A Python handler `file.py:function`, called with the event JSON as Lambda would.
    case lambda(handler: String, runtime: String)
    /// A Python script run with `--KEY value` job arguments, as a Glue job.
    case glue(script: String, arguments: [String: String])
    /// POST the inputs as JSON to a URL; the JSON answer is the outputs. `caBundle` names a PEM file (relative to the
    /// module's folder) of certificate authorities an `https://` service is trusted by besides the system's.
    case http(url: String, method: String, headers: [String: String], caBundle: String? = nil)
    /// A container image run with docker or podman.
    case container(image: String, command: [String])

    /// The implementation kind's name as written in specs.
    public var kindName: String {
        switch self {
        case .builtin: "builtin"
        case .command: "command"
        case .lambda: "lambda"
        case .glue: "glue"
        case .http: "http"
        case .container: "container"
        }
    }
}
