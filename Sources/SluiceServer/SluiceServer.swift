import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import ServiceLifecycle
import SluiceCore
import SluiceServing

/// The HTTP front of Sluice's serving: SageMaker's runtime routes, W1's `/stream` and `/batch`, `/ping`, `/metrics`.
public struct SluiceServer: Sendable {
    /// Server settings.
    public struct Configuration: Sendable {
        /// Address to bind; loopback by default.
        public var host: String
        /// Port; 0 picks a free one.
        public var port: Int
        /// Largest accepted body (SageMaker's limit: 6 MB).
        public var bodyLimit: Int
        /// A connection silent for this long is closed (stalled clients).
        public var idleTimeout: Duration
        /// A request whose body takes longer than this to arrive is answered 408 (slow clients).
        public var requestTimeout: Duration
        /// Whether to log one line per request.
        public var accessLog: Bool
        /// Whether `/invocations` also needs `x-api-key` (off: boto3 sends SigV4, not a key; on when exposed).
        public var invocationsRequireKey: Bool

        /// Creates a configuration with the defaults.
        public init(
            host: String = "127.0.0.1",
            port: Int = 8080,
            bodyLimit: Int = 6 * 1024 * 1024,
            idleTimeout: Duration = .seconds(30),
            requestTimeout: Duration = .seconds(10),
            accessLog: Bool = false,
            invocationsRequireKey: Bool = false
        ) {
            self.host = host
            self.port = port
            self.bodyLimit = bodyLimit
            self.idleTimeout = idleTimeout
            self.requestTimeout = requestTimeout
            self.accessLog = accessLog
            self.invocationsRequireKey = invocationsRequireKey
        }
    }

    /// The serving logic.
    public let service: InferenceService
    /// Settings.
    public let configuration: Configuration
    /// Metrics rendered at `/metrics`.
    public let metrics: ServingMetrics
    /// Logger for start-up and access logs.
    public let logger: Logger
    /// Further route groups (approvals, the execution API).
    public let routes: [any ServerRoutes]
    /// Further long-running parts run in the server's service group (the hosted engine).
    public let services: [any Service]

    /// Creates a server.
    public init(
        service: InferenceService,
        configuration: Configuration = Configuration(),
        metrics: ServingMetrics = ServingMetrics(),
        logger: Logger = Logger(label: "sluice.serve"),
        routes: [any ServerRoutes] = [],
        services: [any Service] = []
    ) {
        self.service = service
        self.configuration = configuration
        self.metrics = metrics
        self.logger = logger
        self.routes = routes
        self.services = services
    }

    /// The Hummingbird application; `onServerRunning` receives the bound port.
    public func makeApplication(
        onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        let router = Router(context: BasicRequestContext.self)
        addRoutes(to: router)
        for group in routes { group.addRoutes(to: router) }
        var services = services
        if let capture = service.capture { services.append(CaptureService(writer: capture)) }
        let idleTimeout = configuration.idleTimeout
        let logger = logger
        // The idle timeout and graceful shutdown are kept by a connection-state handler placed before the serving
        // handler, so that it sees every request, including those answered on the event loop.
        return Application(
            router: router,
            server: .http1(
                configuration: .init(
                    additionalChannelHandlers: [
                        HTTPConnectionStateHandler(idleTimeout: idleTimeout, logger: logger),
                        ServingChannelHandler(server: self),
                    ],
                    idleTimeout: nil
                )
            ),
            configuration: .init(
                address: .hostname(configuration.host, port: configuration.port),
                serverName: nil
            ),
            services: services,
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? 0) },
            logger: logger
        )
    }

    /// Serves until SIGINT or SIGTERM.
    public func run(onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }) async throws {
        try await makeApplication(onServerRunning: onServerRunning).runService()
    }

    func addRoutes(to router: Router<BasicRequestContext>) {
        router.get("/ping") { _, _ in HTTPResponse.Status.ok }
        router.get("/health") { _, _ in HTTPResponse.Status.ok }
        router.get("/metrics") { _, _ in
            Response(
                status: .ok,
                headers: [.contentType: "text/plain; version=0.0.4"],
                body: .init(byteBuffer: ByteBuffer(bytes: metrics.render()))
            )
        }
        // SageMaker runtime (boto3 `invoke_endpoint`) and the container contract: no key, production stage.
        router.post("/endpoints/{name}/invocations") { request, context in
            await handle(
                request, context, endpoint: context.parameters.get("name"), stage: .production, shape: .invocations)
        }
        router.post("/endpoints/{name}/{stage}/invocations") { request, context in
            await handle(
                request, context, endpoint: context.parameters.get("name"),
                stage: context.parameters.get("stage").map(StageName.init(rawValue:)), shape: .invocations
            )
        }
        router.post("/invocations") { request, context in
            await handle(request, context, endpoint: nil, stage: .production, shape: .invocations)
        }
        // W1's API: key required.
        for (suffix, shape) in [("stream", ResponseShape.stream), ("batch", .batch)] {
            router.post("/endpoints/{name}/{stage}/\(suffix)") { request, context in
                await handle(
                    request, context, endpoint: context.parameters.get("name"),
                    stage: context.parameters.get("stage").map(StageName.init(rawValue:)), shape: shape
                )
            }
            router.post("/{stage}/\(suffix)") { request, context in
                await handle(
                    request, context, endpoint: nil,
                    stage: context.parameters.get("stage").map(StageName.init(rawValue:)), shape: shape
                )
            }
            router.post("/\(suffix)") { request, context in
                await handle(request, context, endpoint: nil, stage: .production, shape: shape)
            }
        }
    }

    static let allocator = ByteBufferAllocator()
    static let variantHeader = HTTPField.Name("x-Amzn-Invoked-Production-Variant")!
    static let targetVariantHeader = HTTPField.Name("X-Amzn-SageMaker-Target-Variant")!
    static let apiKeyHeader = HTTPField.Name("x-api-key")!
    static let errorTypeHeader = HTTPField.Name("x-amzn-ErrorType")!

    /// A serving request answered by Hummingbird's router: the bodies too large (or of unknown size) for the event
    /// loop's path, and requests that must keep their order behind another route's (see `ServingChannelHandler`).
    private func handle(
        _ request: Request,
        _ context: BasicRequestContext,
        endpoint: String?,
        stage: StageName?,
        shape: ResponseShape
    ) async -> Response {
        let exchange = ServingExchange(
            route: ServingRoute(endpoint: endpoint, stage: stage, shape: shape), path: request.uri.path,
            fields: request.headers, started: .now, server: self)
        let result: Result<Invocation, ServingError>
        do throws(ServingError) {
            let live = try admit(exchange)
            let body = try await collect(request, deadline: exchange.started + configuration.requestTimeout)
            result = .success(try invoke(live, body: body, exchange))
        } catch {
            result = .failure(error)
        }
        let reply = complete(exchange, result, method: request.method, path: exchange.path)
        return Response(status: reply.status, headers: reply.headers, body: .init(byteBuffer: reply.body))
    }

    /// The checks made before a serving request's body is read: key, usage plan, and the stage it names.
    func admit(_ exchange: ServingExchange) throws(ServingError) -> LiveStage {
        if exchange.route.shape != .invocations || configuration.invocationsRequireKey {
            try service.authorize(
                key: exchange.apiKey, endpoint: exchange.endpointName, now: Date().timeIntervalSince1970)
        }
        return try service.endpoints.stage(endpoint: exchange.endpointName, stage: exchange.route.stage ?? .production)
    }

    /// Runs the inference on the whole body.
    func invoke(_ live: LiveStage, body: ByteBuffer, _ exchange: ServingExchange) throws(ServingError) -> Invocation {
        try service.invoke(
            live, body: body, contentType: exchange.contentType, shape: exchange.route.shape,
            targetVariant: exchange.targetVariant, allocator: Self.allocator
        )
    }

    /// The response to a finished serving request, counted in the metrics and written to the access log.
    func complete(
        _ exchange: ServingExchange,
        _ result: Result<Invocation, ServingError>,
        method: HTTPRequest.Method,
        path: String
    ) -> (status: HTTPResponse.Status, headers: HTTPFields, body: ByteBuffer) {
        let reply: (status: HTTPResponse.Status, headers: HTTPFields, body: ByteBuffer)
        var variant = "-"
        switch result {
        case .success(let invocation):
            variant = invocation.variant
            reply = (.ok, [.contentType: invocation.contentType, Self.variantHeader: variant], invocation.body)
        case .failure(let error):
            reply = Self.errorReply(error)
        }
        let elapsed = ContinuousClock.now - exchange.started
        // Label only endpoints that exist, so arbitrary paths cannot grow the metrics without bound.
        let stage = exchange.route.stage ?? .production
        let known = variant != "-" || service.endpoints.contains(endpoint: exchange.endpointName, stage: stage)
        let metricEndpoint = known ? exchange.endpointName : "-"
        metrics.record(endpoint: metricEndpoint, variant: variant, status: reply.status.code, duration: elapsed)
        if configuration.accessLog {
            logger.info(
                "\(method) \(path) \(reply.status.code)",
                metadata: [
                    "endpoint": .string(metricEndpoint), "variant": .string(variant),
                    "duration_us": .stringConvertible(
                        elapsed.components.seconds * 1_000_000 + elapsed.components.attoseconds / 1_000_000_000_000
                    ),
                ]
            )
        }
        return reply
    }

    /// Reads the body up to the size limit, answering 408 when it arrives after `deadline`; a connection that
    /// stops sending altogether is closed by the idle timeout.
    private func collect(_ request: Request, deadline: ContinuousClock.Instant) async throws(ServingError) -> ByteBuffer
    {
        var collected: ByteBuffer?
        do {
            for try await chunk in request.body {
                if var buffer = collected {
                    guard buffer.readableBytes + chunk.readableBytes <= configuration.bodyLimit else {
                        throw tooLarge()
                    }
                    var chunk = chunk
                    buffer.writeBuffer(&chunk)
                    collected = buffer
                } else {
                    guard chunk.readableBytes <= configuration.bodyLimit else { throw tooLarge() }
                    collected = chunk
                }
                if ContinuousClock.now > deadline { throw overdue() }
            }
        } catch let error as ServingError {
            throw error
        } catch {
            throw ServingError(.validation, "The request body could not be read: \(error).")
        }
        return collected ?? ByteBuffer()
    }

    /// The error answering a body that arrived after the per-request timeout.
    func overdue() -> ServingError {
        ServingError(
            .requestTimeout,
            "The request body did not arrive within \(configuration.requestTimeout); send it faster "
                + "or in smaller requests."
        )
    }

    /// The error answering a body over the size limit.
    func tooLarge() -> ServingError {
        ServingError(
            .payloadTooLarge,
            "The request body is larger than the \(configuration.bodyLimit / 1_048_576) MB limit; "
                + "split it into several requests."
        )
    }

    /// The HTTP status answering a serving error.
    public static func status(for code: ServingError.Code) -> HTTPResponse.Status {
        switch code {
        case .emptyBody, .validation, .unknownVariant: .badRequest
        case .unsupportedMediaType: .unsupportedMediaType
        case .payloadTooLarge: .contentTooLarge
        case .unknownEndpoint: .notFound
        case .missingKey: .unauthorized
        case .invalidKey: .forbidden
        case .throttled, .quotaExceeded: .tooManyRequests
        case .requestTimeout: .requestTimeout
        default: .internalServerError
        }
    }

    /// SageMaker's error shape: `x-amzn-ErrorType` and a JSON body with `ErrorCode` and `Message`.
    static func errorReply(_ error: ServingError) -> (status: HTTPResponse.Status, headers: HTTPFields, body: ByteBuffer) {
        var headers: HTTPFields = [.contentType: "application/json", Self.errorTypeHeader: error.code.name]
        if let retry = error.retryAfterSeconds { headers[.retryAfter] = String(retry) }
        let body = "{\"ErrorCode\":\(JSONValue.quoted(error.code.name)),\"Message\":\(JSONValue.quoted(error.message))}"
        return (status(for: error.code), headers, ByteBuffer(string: body))
    }
}

/// Runs the capture writer beside the HTTP server and flushes it on shutdown.
struct CaptureService: Service {
    let writer: CaptureWriter

    func run() async throws {
        await withGracefulShutdownHandler {
            await writer.run()
        } onGracefulShutdown: {
            writer.finish()
        }
    }
}
