import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import SluiceCore
import SluiceServing

/// Predict-by-id over HTTP, for endpoints deployed with a feature lookup (`--features GROUP --id-field FIELD`):
///
/// - `POST /endpoints/{name}/{stage}/predict-by-id` with `{"<id field>": …}` answers `{"result": "<prediction>"}`
///   from the record's latest features;
/// - `POST /endpoints/{name}/{stage}/features` answers the record's latest feature map;
/// - the same at the paths the endpoint configures (`--predict-route`, `--features-route`), where a body field
///   `endpoint` (or SageMaker's `sagemaker_endpoint`) picks the endpoint when several share the path.
///
/// Both need an API key; predictions go through `InferenceService`, so usage plans, `/metrics` and capture apply.
extension SluiceServer {
    /// What a lookup request asks for.
    enum LookupKind: Sendable {
        case features, prediction
    }

    func addLookupRoutes(to router: Router<BasicRequestContext>) {
        for (suffix, kind) in [("predict-by-id", LookupKind.prediction), ("features", .features)] {
            router.post("/endpoints/{name}/{stage}/\(suffix)") { request, context in
                await lookup(
                    request, kind: kind, endpoint: context.parameters.get("name"),
                    stage: context.parameters.get("stage").map(StageName.init(rawValue:)))
            }
        }
    }

    /// Answers a lookup at a configured path (called for paths no route claims), or nil when no endpoint
    /// configures `path`.
    func lookupAtConfiguredRoute(_ request: Request) async -> Response? {
        guard request.method == .post else { return nil }
        let path = request.uri.path
        for kind in [LookupKind.prediction, .features] {
            let stages = service.endpoints.stages(lookupRoute: path, features: kind == .features)
            if !stages.isEmpty { return await lookup(request, kind: kind, configured: stages) }
        }
        return nil
    }

    private func lookup(
        _ request: Request, kind: LookupKind, endpoint: String? = nil, stage: StageName? = nil,
        configured: [LiveStage] = []
    ) async -> Response {
        let started = ContinuousClock.now
        let headers = request.headers.lazy.map { ($0.name.canonicalName, $0.value) }
        var exchange = ServingExchange(
            route: ServingRoute(endpoint: endpoint, stage: stage, shape: .byID), path: request.uri.path,
            headers: headers, started: started, server: self)
        let result: Result<Invocation, ServingError>
        do throws(ServingError) {
            // A missing key is refused before the body is read.
            guard exchange.apiKey?.isEmpty == false else {
                throw ServingError(.missingKey, "Missing API key; send it in the x-api-key header.")
            }
            let body = try await lookupBody(request)
            let json = try Self.jsonObject(body)
            if endpoint == nil {
                let live = try Self.pick(configured, body: json)
                exchange.route = ServingRoute(endpoint: live.endpoint, stage: live.stage, shape: .byID)
                exchange.endpointName = live.endpoint
            }
            let live = try admit(exchange)
            guard let lookup = live.deployment.featureLookup else {
                throw ServingError(
                    .validation,
                    "Endpoint '\(live.endpoint)' does not look up features; turn it on with `sluice endpoints deploy "
                        + "\(live.endpoint) Group/N --features GROUP --id-field FIELD`.")
            }
            let id = try Self.recordID(json, field: lookup.idField)
            switch kind {
            case .prediction:
                result = .success(
                    try service.invoke(
                        live, recordID: id, body: body, targetVariant: exchange.targetVariant,
                        allocator: Self.allocator))
            case .features:
                let features = try service.features(of: id, stage: live)
                result = .success(
                    Invocation(
                        body: ByteBuffer(string: JSONValue.object(features).canonicalJSON),
                        contentType: "application/json", variant: "-"))
            }
        } catch {
            result = .failure(error)
        }
        return complete(exchange, result, method: request.method).response
    }

    private func lookupBody(_ request: Request) async throws(ServingError) -> ByteBuffer {
        do {
            return try await request.body.collect(upTo: RequestLimits.featureRouteBody)
        } catch {
            throw ServingError(
                .payloadTooLarge,
                "The body is larger than \(RequestLimits.describe(RequestLimits.featureRouteBody)); send one record id."
            )
        }
    }

    static func jsonObject(_ body: ByteBuffer) throws(ServingError) -> [String: JSONValue] {
        guard let value = try? JSONDecoder().decode(JSONValue.self, from: Data(body.readableBytesView)),
            let object = value.object
        else { throw ServingError(.validation, "The body must be a JSON object, e.g. {\"user_id\": 7}.") }
        return object
    }

    /// The record id in `field`: a non-empty string or a whole number.
    static func recordID(_ body: [String: JSONValue], field: String) throws(ServingError) -> String {
        switch body[field] {
        case .string(let text)? where !text.isEmpty: return text
        case .int(let number)?: return String(number)
        case .double(let number)? where number == number.rounded() && abs(number) < 1e15: return String(Int(number))
        default:
            throw ServingError(
                .validation, "field '\(field)' is required: the record id, a string or a whole number.")
        }
    }

    /// The stage a configured path answers for: the endpoint the body names (`endpoint` or `sagemaker_endpoint`),
    /// else the only endpoint configuring the path; its production stage, else its only stage.
    static func pick(_ stages: [LiveStage], body: [String: JSONValue]) throws(ServingError) -> LiveStage {
        let named = ["endpoint", "sagemaker_endpoint"].lazy.compactMap { body[$0]?.string }.first
        let endpoints = Set(stages.map(\.endpoint)).sorted()
        let endpoint: String
        if let named {
            guard endpoints.contains(named) else {
                throw ServingError(
                    .unknownEndpoint,
                    "no model is deployed on endpoint '\(named)' for this path (endpoints here: "
                        + "\(endpoints.joined(separator: ", "))).")
            }
            endpoint = named
        } else {
            guard endpoints.count == 1 else {
                throw ServingError(
                    .validation,
                    "Several endpoints answer this path (\(endpoints.joined(separator: ", "))); name one in the "
                        + "body's 'endpoint' field.")
            }
            endpoint = endpoints[0]
        }
        let candidates = stages.filter { $0.endpoint == endpoint }
        if let production = candidates.first(where: { $0.stage == .production }) { return production }
        guard candidates.count == 1 else {
            throw ServingError(
                .validation,
                "Endpoint '\(endpoint)' has stages \(candidates.map(\.stage.rawValue).joined(separator: ", ")); call "
                    + "/endpoints/\(endpoint)/STAGE/predict-by-id.")
        }
        return candidates[0]
    }
}

/// Hands requests no route claimed to the paths endpoints configure for predict-by-id.
struct ConfiguredLookupMiddleware: RouterMiddleware {
    typealias Context = BasicRequestContext
    let server: SluiceServer

    func handle(
        _ request: Request, context: BasicRequestContext,
        next: (Request, BasicRequestContext) async throws -> Response
    ) async throws -> Response {
        if let response = await server.lookupAtConfiguredRoute(request) { return response }
        return try await next(request, context)
    }
}
