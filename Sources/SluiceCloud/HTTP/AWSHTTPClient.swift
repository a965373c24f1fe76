public import Foundation
import NIOCore
import NIOHTTP1

/// Sends signed requests to one AWS service endpoint (or a stand-in such as moto) and returns whole answers: the
/// transport for JSON APIs such as Step Functions (`X-Amz-Target` + `application/x-amz-json-1.0`).
public struct AWSHTTPClient: Sendable {
    /// An answer, whatever its status.
    public struct Response: Sendable {
        public var status: Int
        public var headers: [(name: String, value: String)]
        public var body: [UInt8]

        /// The body as UTF-8 text.
        public var text: String { String(decoding: body, as: UTF8.self) }
    }

    let endpoint: StreamingHTTPClient.Endpoint
    let http = StreamingHTTPClient()
    /// Signs every request; `nil` sends them unsigned.
    public var signer: AWSSigner?
    let now: @Sendable () -> Date

    /// A client for one service.
    /// - Parameters:
    ///   - configuration: credentials, region and endpoints.
    ///   - serviceID: the id in `AWS_ENDPOINT_URL_<ID>` (`SFN`, `SAGEMAKER`).
    ///   - signingName: the SigV4 service name (`states`, `sagemaker`).
    ///   - hostPrefix: the AWS host prefix when no endpoint is configured (`states`, `api.sagemaker`).
    ///   - now: the signing clock.
    /// - Throws: `AWSConfigurationError` for an endpoint that is not `http[s]://`, or an unreadable CA bundle.
    public init(
        configuration: AWSConfiguration, serviceID: String, signingName: String, hostPrefix: String,
        now: @escaping @Sendable () -> Date = { Date() }
    ) throws {
        let address = configuration.endpoint(for: serviceID, hostPrefix: hostPrefix)
        do {
            endpoint = try StreamingHTTPClient.Endpoint(parsing: address, trust: configuration.tlsTrust)
        } catch {
            let fix = error.kind == .unsupported ? " (set AWS_ENDPOINT_URL_\(serviceID.uppercased()))" : ""
            throw AWSConfigurationError(message: error.detail + fix)
        }
        signer = configuration.signer(service: signingName)
        self.now = now
    }

    /// The endpoint requests go to, for messages.
    public var location: String { endpoint.url }

    /// Sends `request` (its path below the endpoint; `Host` and the signature are added) with `body`.
    /// - Throws: `AWSConfigurationError` naming the endpoint when it cannot be reached.
    public func send(_ request: AWSRequest, body: [UInt8] = []) async throws -> Response {
        var request = request
        request.path = endpoint.basePath + (request.path.hasPrefix("/") ? request.path : "/" + request.path)
        request.headers.append(("Host", endpoint.authority))
        let payloadHash = AWSSigner.payloadHash(body)
        if let signer { request = signer.sign(request, payloadHash: payloadHash, date: now()) }
        var head = HTTPRequestHead(
            version: .http1_1, method: HTTPMethod(rawValue: request.method), uri: request.target)
        for field in request.headers { head.headers.add(name: field.name, value: field.value) }
        head.headers.add(name: "Content-Length", value: String(body.count))
        var received: [UInt8] = []
        do {
            let answer = try await http.exchange(endpoint, head: head, body: ByteBuffer(bytes: body)) { _, chunk in
                received += chunk.readableBytesView
            }
            return Response(
                status: Int(answer.status.code), headers: answer.headers.map { ($0.name, $0.value) }, body: received)
        } catch {
            throw AWSConfigurationError(message: "\(request.method) \(endpoint.url)\(request.target): \(error.detail)")
        }
    }
}
