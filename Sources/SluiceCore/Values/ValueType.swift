/// The declared type of a module input or output, or of a pipeline parameter.
///
/// Types are checked statically between steps: an output can feed an input only when
/// `isAssignable(to:)` says so.
public enum ValueType: String, Hashable, Sendable, Codable, CaseIterable {
    case string = "String"
    case integer = "Integer"
    case float = "Float"
    case boolean = "Boolean"
    case json = "JSON"
    /// A file or folder of data. `S3DataSourceUri` in seed specs is read as this.
    case data = "DataUri"
    case model = "ModelUri"
    /// A JSON file read by path, e.g. an evaluation report.
    case report = "Report"

    /// Parses a type name as written in specs, accepting the AWS-flavoured aliases.
    public init?(specName: String) {
        switch specName.lowercased() {
        case "string", "str": self = .string
        case "integer", "int": self = .integer
        case "float", "double", "number": self = .float
        case "boolean", "bool": self = .boolean
        case "json", "object": self = .json
        case "datauri", "s3datasourceuri", "s3uri", "data", "path", "file", "folder": self = .data
        case "modeluri", "model": self = .model
        case "report": self = .report
        default: return nil
        }
    }

    /// Every name `init(specName:)` accepts in its canonical spelling, for suggestions and the JSON Schema.
    public static let specNames = [
        "String", "Integer", "Float", "Boolean", "JSON", "DataUri", "S3DataSourceUri",
        "ModelUri", "Report",
    ]

    /// Whether a value of this type may feed an input of `target` type.
    ///
    /// Integers widen to floats; any location (data, model, report) may be passed as a plain string URI and vice
    /// versa; a report is a kind of data; a data location may name a model (seed modules type every S3 location as
    /// data); JSON accepts anything. A model is not data: a step reading a data set would fail on a model's files.
    public func isAssignable(to target: ValueType) -> Bool {
        if self == target || target == .json { return true }
        switch (self, target) {
        case (.integer, .float): return true
        case (.string, .data), (.string, .model), (.string, .report): return true
        case (.data, .string), (.model, .string), (.report, .string): return true
        case (.report, .data), (.data, .model), (.data, .report): return true
        case (.report, .json): return true
        default: return false
        }
    }

    /// Whether a literal JSON value conforms to this type.
    public func accepts(_ value: JSONValue) -> Bool {
        switch (self, value) {
        case (.json, _): true
        case (.string, .string), (.data, .string), (.model, .string), (.report, .string): true
        case (.integer, .int): true
        case (.float, .int), (.float, .double): true
        case (.boolean, .bool): true
        case (.report, .object): true
        default: false
        }
    }
}
