import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
public import SluiceCore

/// What W3's API needs from Sluice (the feature store and the deployed models), without the store's types.
public protocol CreditRiskBackend: Sendable {
    /// The feature map of `userID`'s latest record, or nil when the feature group has no record of it.
    func latestFeatures(userID: String) throws -> [String: JSONValue]?
    /// The prediction of the model deployed on `endpoint` for one feature map (a binary classifier's class-1
    /// probability); throws `CreditRiskError` with `.notFound` for an endpoint with nothing deployed.
    func predict(endpoint: String, features: [String: JSONValue]) throws -> Double
}

/// A W3 API request that cannot be answered: what was wrong, as an HTTP status and a one-line message.
public struct CreditRiskError: Error, Hashable, Sendable, CustomStringConvertible {
    /// 400: the body; 404: an unknown user or endpoint; 500: the model failed.
    public enum Kind: Hashable, Sendable { case badRequest, notFound, failed }
    public var kind: Kind
    public var description: String

    public init(_ kind: Kind, _ description: String) {
        self.kind = kind
        self.description = description
    }
}

/// W3's HTTP API: `POST /invokeFeatureStore {"user_id": …}` answers the latest record's feature map;
/// `POST /invokeSagemakerAPI {"user_id": …, "sagemaker_endpoint": …}` answers `{"result": "<prediction>"}` from the
/// user's latest features and the endpoint's model, run in process.
public struct CreditRiskRoutes: ServerRoutes {
    let backend: any CreditRiskBackend
    /// Largest accepted body.
    let bodyLimit = RequestLimits.featureRouteBody

    /// Routes answering from `backend`.
    public init(backend: any CreditRiskBackend) { self.backend = backend }

    /// Adds `/invokeFeatureStore` and `/invokeSagemakerAPI` to `router`.
    public func addRoutes(to router: Router<BasicRequestContext>) {
        router.post("/invokeFeatureStore") { request, _ in
            await answer {
                let body = try await json(request)
                let user = try userID(body)
                return .object(try features(of: user))
            }
        }
        router.post("/invokeSagemakerAPI") { request, _ in
            await answer {
                let body = try await json(request)
                let user = try userID(body)
                guard let endpoint = body["sagemaker_endpoint"]?.string, !endpoint.isEmpty else {
                    throw CreditRiskError(
                        .badRequest, "field 'sagemaker_endpoint' is required: the endpoint's name, e.g. credit-risk")
                }
                let prediction = try backend.predict(endpoint: endpoint, features: try features(of: user))
                return .object(["result": .string(Self.format(prediction))])
            }
        }
    }

    private func features(of user: String) throws -> [String: JSONValue] {
        guard let features = try backend.latestFeatures(userID: user) else {
            throw CreditRiskError(.notFound, "no feature record for user_id '\(user)'")
        }
        return features
    }

    private func json(_ request: Request) async throws -> JSONValue {
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: bodyLimit)
        } catch {
            throw CreditRiskError(.badRequest, "the body is larger than \(bodyLimit) bytes")
        }
        guard let value = try? JSONDecoder().decode(JSONValue.self, from: Data(buffer.readableBytesView)),
            value.object != nil
        else { throw CreditRiskError(.badRequest, "the body must be a JSON object, e.g. {\"user_id\": 7}") }
        return value
    }

    private func userID(_ body: JSONValue) throws -> String {
        switch body["user_id"] {
        case .string(let text)? where !text.isEmpty: return text
        case .int(let number)?: return String(number)
        case .double(let number)? where number == number.rounded() && abs(number) < 1e15: return String(Int(number))
        default: throw CreditRiskError(.badRequest, "field 'user_id' is required: a string or a whole number")
        }
    }

    private func answer(_ body: () async throws -> JSONValue) async -> Response {
        do {
            return Self.response(.ok, try await body())
        } catch let error as CreditRiskError {
            let status: HTTPResponse.Status =
                switch error.kind {
                case .badRequest: .badRequest
                case .notFound: .notFound
                case .failed: .internalServerError
                }
            return Self.response(status, .object(["message": .string(error.description)]))
        } catch {
            return Self.response(.internalServerError, .object(["message": .string("\(error)")]))
        }
    }

    static func response(_ status: HTTPResponse.Status, _ value: JSONValue) -> Response {
        Response(
            status: status, headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(string: value.canonicalJSON)))
    }

    /// Whole numbers without a fraction (`1`), others in full (`0.8`).
    static func format(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(value)
    }
}
