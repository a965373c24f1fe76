import Foundation
public import SluiceCore

/// Resolves references for conditions and step inputs.
struct ReferenceResolver: Sendable {
    var executionID: String
    var pipelineName: String
    var startTime: String
    var parameters: [String: JSONValue]
    var outputs: @Sendable (String) -> [String: JSONValue]?
    var readReport: @Sendable (String) -> JSONValue?

    func resolve(_ reference: Reference, item: JSONValue?) throws -> JSONValue {
        let root: JSONValue
        switch reference.root {
        case .parameter(let name):
            guard let value = parameters[name] else { throw ResolutionError(reference: reference, reason: "no value") }
            root = value
        case .stepOutput(let step, let output):
            guard let value = outputs(step)?[output] else {
                throw ResolutionError(reference: reference, reason: "step '\(step)' has no output '\(output)'")
            }
            root = value
        case .execution(let field):
            switch field {
            case .id: root = .string(executionID)
            case .name: root = .string(pipelineName)
            case .startTime: root = .string(startTime)
            }
        case .mapItem:
            guard let item else { throw ResolutionError(reference: reference, reason: "only inside a Map step") }
            root = item
        }
        if reference.path.isEmpty { return root }
        // A report output is a path to a JSON file; conditions read into its content.
        var document = root
        if case .string(let path) = root, let content = readReport(path) { document = content }
        guard let value = document[path: reference.path] else {
            throw ResolutionError(reference: reference, reason: "path not found in the value")
        }
        return value
    }
}

extension ReferenceResolver {
    static func startTime(_ seconds: Double) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: Date(timeIntervalSince1970: seconds))
    }
}

/// A reference could not be resolved when the step ran.
public struct ResolutionError: SluiceError, Hashable, Sendable {
    public var reference: Reference
    public var reason: String
    public var code: String { "unresolved-reference" }
    public var message: String { description }

    public var description: String { "cannot resolve \(reference): \(reason)" }
}
