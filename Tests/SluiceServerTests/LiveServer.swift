import Foundation
import Hummingbird
import SluiceServer
import SluiceServing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// A real Sluice server on 127.0.0.1 with an ephemeral port, for the duration of `body`.
func withLiveServer(
    _ service: InferenceService,
    configuration: SluiceServer.Configuration = .init(host: "127.0.0.1", port: 0),
    _ body: @Sendable (URL) async throws -> Void
) async throws {
    let server = SluiceServer(service: service, configuration: configuration)
    let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask {
            try await server.makeApplication { port in continuation.yield(port) }.run()
        }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next() else { return }
        try await body(URL(string: "http://127.0.0.1:\(port)")!)
        group.cancelAll()
    }
}

/// One HTTP exchange's outcome.
struct HTTPResult: Sendable {
    var status: Int
    var body: String
    var headers: [String: String]

    func header(_ name: String) -> String? {
        headers.first { $0.key.lowercased() == name.lowercased() }?.value
    }
}

let session: URLSession = {
    let configuration = URLSessionConfiguration.ephemeral
    configuration.httpMaximumConnectionsPerHost = 16
    return URLSession(configuration: configuration)
}()

/// Sends one request over real HTTP.
func send(
    _ base: URL,
    _ path: String,
    method: String = "POST",
    body: Data? = nil,
    headers: [String: String] = [:]
) async throws -> HTTPResult {
    var request = URLRequest(url: URL(string: base.absoluteString + path)!)
    request.httpMethod = method
    request.httpBody = body
    for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
    let (data, response) = try await session.data(for: request)
    let http = response as! HTTPURLResponse
    var fields: [String: String] = [:]
    for (key, value) in http.allHeaderFields {
        if let key = key as? String, let value = value as? String { fields[key] = value }
    }
    return HTTPResult(status: http.statusCode, body: String(decoding: data, as: UTF8.self), headers: fields)
}

/// A service with endpoint `w1` (production: variants A and B of `y = 2·x0 − x1 + 0.5`) and one key.
func makeService(plan: UsagePlan? = nil) -> (InferenceService, key: String, record: APIKeyRecord) {
    let table = EndpointTable()
    let model = LinearPredictor(coefficients: [2, -1], intercept: 0.5)
    table.deploy(
        endpoint: "w1", stage: .production,
        StageDeployment(variants: [Variant(name: "A", predictor: model), Variant(name: "B", predictor: model)])
    )
    table.deploy(endpoint: "w1", stage: .staging, StageDeployment(variants: [Variant(name: "A", predictor: model)]))
    table.deploy(
        endpoint: "abalone", stage: .production,
        StageDeployment(variants: [Variant(name: "AllTraffic", predictor: model)], formats: [.csv])
    )
    table.defaultEndpoint = "w1"
    let (key, record) = APIKey.generate(name: "test", plan: plan)
    return (InferenceService(endpoints: table, keyring: APIKeyring([record])), key, record)
}
