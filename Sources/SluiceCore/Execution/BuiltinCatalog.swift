/// The shape of a JSON value, as far as validation needs it: a small subset of JSON Schema.
public indirect enum ValueShape: Hashable, Sendable {
    case number
    case string
    case boolean
    /// An object with known `properties`; any other property has shape `additional` (nil: there is none).
    case object(properties: [String: ValueShape], additional: ValueShape?)
    /// Nothing is known about the value.
    case any

    /// The shape found by following `path`, `.any` where the shape stops being known, or nil when the path cannot
    /// exist in a value of this shape.
    public func shape(at path: some Collection<PathComponent>) -> ValueShape? {
        guard let first = path.first else { return self }
        switch (self, first) {
        case (.any, _): return .any
        case (.object(let properties, let additional), .key(let key)):
            guard let next = properties[key] ?? additional else { return nil }
            return next.shape(at: path.dropFirst())
        default: return nil
        }
    }

    /// The static type of a value of this shape, nil for objects and unknown values.
    public var valueType: ValueType? {
        switch self {
        case .number: .float
        case .string: .string
        case .boolean: .boolean
        case .object, .any: nil
        }
    }

    /// The property names an object shape knows, sorted (for suggestions).
    public var propertyNames: [String] {
        if case .object(let properties, _) = self { properties.keys.sorted() } else { [] }
    }
}

/// Every built-in step Sluice runs, by name, with the shapes of the outputs whose structure is fixed.
///
/// `validate` accepts exactly these names and `run` registers exactly these steps (a test holds the two together),
/// so a spec that validates is one the engine can run. Conditions that read into a built-in's report are type
/// checked against these shapes.
public enum BuiltinCatalog {
    /// Output shapes by built-in name, then by output name; an output not listed has an unknown shape.
    public static let outputShapes: [String: [String: ValueShape]] = [
        "noop": [:], "echo": [:], "fail": [:],
        "data.validate": [:], "data.split": [:], "data.transform": [:], "data.features": [:],
        "train.linear": [:], "train.logistic": [:], "train.gbdt": [:], "train.random_forest": [:], "train.mlp": [:],
        "evaluate": ["report": evaluationReport, "metrics": evaluationReport],
        "predict.batch": ["files": .number, "rows": .number],
        "registry.register": [:], "registry.model": [:],
        "endpoint.deploy": [:], "endpoint.test": [:],
        "features.ingest": [:],
        "notify": [:],
        "monitor.baseline": [:],
        "train.sagemaker.xgboost": ["trees": .number],
    ]

    /// The names of every built-in step.
    public static var names: Set<String> { Set(outputShapes.keys) }

    /// The shape of `output` of built-in `name`, nil when it is not known.
    public static func shape(of output: String, builtin name: String) -> ValueShape? {
        outputShapes[name]?[output]
    }

    /// `{"value": number}`, how SageMaker's reports hold each metric.
    static let metric = ValueShape.object(properties: ["value": .number], additional: nil)
    static let metricGroup = ValueShape.object(properties: [:], additional: metric)

    /// SageMaker's evaluation report (`regression_metrics`, `binary_classification_metrics`,
    /// `multiclass_classification_metrics`, each `{name: {value: number}}`), or W3's flat `{name: number}` keys.
    public static let evaluationReport = ValueShape.object(
        properties: [
            "regression_metrics": metricGroup, "binary_classification_metrics": metricGroup,
            "multiclass_classification_metrics": metricGroup,
        ], additional: .number)
}
