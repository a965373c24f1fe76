import Foundation
import SluiceCore

extension ExecutionEngine {
    /// Replaces every data, model or report input given as an `s3://` URI by a local copy under `directory`
    /// (`<directory>/<port>/<name>`), returning what was fetched by port.
    func fetchObjectInputs(
        module: Module, inputs: inout [String: JSONValue], into directory: String
    ) async throws -> [String: FetchedObject] {
        var fetched: [String: FetchedObject] = [:]
        for port in module.inputs where [.data, .model, .report].contains(port.type) {
            guard case .string(let text) = inputs[port.name], let uri = ObjectURI(parsing: text) else { continue }
            guard let objects else {
                throw EngineError(
                    code: "no-object-store",
                    message: "input '\(port.name)' is \(uri) but no object store is configured for this engine")
            }
            let object = try await objects.fetch(uri, into: "\(directory)/\(port.name)")
            inputs[port.name] = .string(object.path)
            fetched[port.name] = object
        }
        return fetched
    }

    /// Uploads the outputs whose module declares an `s3://` location (a template such as
    /// `s3://bucket/{job-execution-name}/models`) and replaces their local paths by the URIs.
    func publishObjectOutputs(
        module: Module, outputs: inout [String: JSONValue], step: String, attempt: Int, resolver: ReferenceResolver
    ) async throws {
        for port in module.outputs {
            guard case .string(let declared) = port.value, declared.hasPrefix("s3://") else { continue }
            let rendered = try Self.renderObjectTemplate(
                declared, port: port.name,
                values: [
                    "job-execution-name": resolver.executionID, "execution-id": resolver.executionID,
                    "execution.id": resolver.executionID, "execution-name": resolver.executionID,
                    "pipeline.name": resolver.pipelineName, "pipeline-name": resolver.pipelineName, "step.name": step,
                    "step-name": step, "attempt": String(attempt),
                ])
            guard let uri = ObjectURI(parsing: rendered) else {
                throw EngineError(
                    code: "bad-output-uri",
                    message: "output '\(port.name)': '\(rendered)' is not an s3://bucket/key URI")
            }
            let produced = outputs[port.name]?.string
            if let produced, ObjectURI(parsing: produced) != nil { continue }
            guard let produced, FileManager.default.fileExists(atPath: produced) else {
                throw EngineError(
                    code: "missing-output",
                    message: "output '\(port.name)' of '\(module.name)' is declared at \(declared) but the step "
                        + "produced no file or folder for it (it returned \(produced.map { "'\($0)'" } ?? "nothing"))")
            }
            guard let objects else {
                throw EngineError(
                    code: "no-object-store",
                    message: "output '\(port.name)' goes to \(uri) but no object store is configured for this engine")
            }
            try await objects.publish(produced, to: uri)
            outputs[port.name] = .string(uri.description)
        }
    }

    /// Fills `{name}` placeholders of an output location; an unknown name is an error listing the known ones.
    static func renderObjectTemplate(_ template: String, port: String, values: [String: String]) throws -> String {
        var result = ""
        var rest = template[...]
        while let open = rest.firstIndex(of: "{") {
            result += rest[..<open]
            guard let close = rest[open...].firstIndex(of: "}") else {
                throw EngineError(
                    code: "bad-output-uri", message: "output '\(port)': unclosed '{' in \(template)")
            }
            let name = String(rest[rest.index(after: open)..<close])
            guard let value = values[name] else {
                throw EngineError(
                    code: "bad-output-uri",
                    message: "output '\(port)': unknown placeholder {\(name)} in \(template); use one of "
                        + values.keys.sorted().map { "{\($0)}" }.joined(separator: ", "))
            }
            result += value
            rest = rest[rest.index(after: close)...]
        }
        return result + rest
    }
}
