import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import SluiceCore
import SluiceServing

/// The execution API: `POST /api/executions` with `{"pipeline": "path.yaml", "parameters": {…}}` answers 202 and
/// the new id; `GET /api/executions/{id}` answers the status and the steps.
///
/// Submissions must be `application/json`: a browser page cannot send that cross-origin without a preflight this
/// server never grants, so a web page the user visits cannot start pipelines on their machine.
///
/// When the server is exposed beyond loopback, give the routes a keyring: every request then needs a valid `x-api-key`,
/// since a submitted pipeline runs commands on this machine.
public struct ExecutionRoutes: ServerRoutes {
    let host: any ExecutionHost
    let keyring: APIKeyring?
    let root: PipelineRoot

    /// Routes answered by `host`.
    /// - Parameters:
    ///   - keyring: when given, requests need one of its keys in `x-api-key`.
    ///   - pipelineRoot: submissions may only name pipelines under this folder (403 otherwise).
    public init(host: any ExecutionHost, keyring: APIKeyring? = nil, pipelineRoot: String) {
        self.host = host
        self.keyring = keyring
        self.root = PipelineRoot(pipelineRoot)
    }

    public func addRoutes(to router: Router<BasicRequestContext>) {
        router.post("/api/executions") { request, _ in
            if let refusal = refusal(request) { return refusal }
            return await submit(request)
        }
        router.get("/api/executions/{id}") { request, context in
            if let refusal = refusal(request) { return refusal }
            let id = context.parameters.get("id") ?? ""
            do {
                guard let status = try await host.execution(id: id) else {
                    return Self.error(
                        .notFound, "UnknownExecution", "No execution '\(id)'; list them with `sluice executions`.")
                }
                return Self.json(.ok, status)
            } catch {
                return Self.error(.internalServerError, "InternalFailure", "The execution could not be read: \(error).")
            }
        }
    }

    /// The answer refusing a request without a valid key, when keys are required.
    private func refusal(_ request: Request) -> Response? {
        guard let keyring else { return nil }
        do {
            _ = try keyring.authenticate(request.headers[HTTPField.Name("x-api-key")!])
            return nil
        } catch {
            return SluiceServer.errorReply(error).response
        }
    }

    private func submit(_ request: Request) async -> Response {
        guard request.headers[.contentType]?.lowercased().hasPrefix("application/json") == true else {
            return Self.error(
                .unsupportedMediaType, "UnsupportedMediaType",
                "Send the submission as Content-Type: application/json.")
        }
        let value: JSONValue
        do {
            let body = try await request.body.collect(upTo: RequestLimits.executionBody)
            value = try JSONDecoder().decode(JSONValue.self, from: Data(body.readableBytesView))
        } catch {
            return Self.error(
                .badRequest, "ValidationError",
                #"The body is not JSON; send {"pipeline": "path/to/pipeline.yaml", "parameters": {…}}."#)
        }
        guard let pipeline = value["pipeline"]?.string, !pipeline.isEmpty else {
            return Self.error(
                .badRequest, "ValidationError",
                #"Field 'pipeline' is required: the path of a pipeline file, e.g. {"pipeline": "pipeline.yaml"}."#)
        }
        if let refusal = root.refusal(pipeline) {
            return Self.error(.forbidden, "AccessDenied", "The pipeline \(refusal).")
        }
        var parameters: [String: JSONValue] = [:]
        switch value["parameters"] {
        case .object(let object)?: parameters = object
        case .null?, nil: break
        case let other?:
            return Self.error(
                .badRequest, "ValidationError",
                "Field 'parameters' must be an object of parameter values, not \(other.typeName).")
        }
        do {
            let id = try await host.submit(ExecutionSubmission(pipeline: pipeline, parameters: parameters))
            var response = Self.json(
                .accepted, ["id": .string(id), "status": "queued", "url": .string("/api/executions/\(id)")])
            response.headers[.location] = "/api/executions/\(id)"
            return response
        } catch let error as SubmissionError {
            // A file the pipeline refers to may lie outside the root: its diagnostics would quote it; say only that.
            let diagnostics = error.diagnostics.map {
                root.contains(diagnostic: $0)
                    ? $0 : "a file outside the pipeline root has an error (not shown); run `sluice validate` locally"
            }
            return Self.error(
                .badRequest, "ValidationError", error.message,
                details: diagnostics.isEmpty ? [:] : ["Diagnostics": .array(diagnostics.map(JSONValue.string))])
        } catch {
            return Self.error(.internalServerError, "InternalFailure", "The execution could not start: \(error).")
        }
    }

    static func json(_ status: HTTPResponse.Status, _ value: JSONValue) -> Response {
        Response(
            status: status, headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(string: value.canonicalJSON)))
    }

    /// The serving routes' error shape (`SluiceServer.errorReply`): `x-amzn-ErrorType` and a JSON body with `ErrorCode`
    /// and `Message`, plus any `details`.
    static func error(
        _ status: HTTPResponse.Status, _ code: String, _ message: String, details: [String: JSONValue] = [:]
    ) -> Response {
        let body = JSONValue.object(details.merging(["ErrorCode": .string(code), "Message": .string(message)]) { $1 })
        return ServingReply(
            status: status, contentType: "application/json", body: ByteBuffer(string: body.canonicalJSON),
            errorType: code
        ).response
    }
}
