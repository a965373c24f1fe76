import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import SluiceCore
import SluiceServing
import Synchronization

/// The HTTP front of Sluice's serving: SageMaker's runtime routes, W1's `/stream` and `/batch`, `/ping`, `/metrics`.
public struct SluiceServer: Sendable {
    /// Server settings.
    @MemberwiseInit
    public struct Configuration: Sendable {
        /// Address to bind; loopback by default.
        public var host: String = "127.0.0.1"
        /// Port; 0 picks a free one.
        public var port: Int = 8080
        /// Largest accepted body (SageMaker's limit: 6 MB).
        public var bodyLimit: Int = 6 * 1024 * 1024
        /// A connection silent for this long is closed (stalled clients).
        public var idleTimeout: Duration = .seconds(30)
        /// A request whose body takes longer than this to arrive is answered 408 (slow clients).
        public var requestTimeout: Duration = .seconds(10)
        /// Whether to log one line per request.
        public var accessLog: Bool = false
        /// Whether `/invocations` also needs `x-api-key` (off: boto3 sends SigV4, not a key; on when exposed).
        public var invocationsRequireKey: Bool = false
        /// Event-loop threads; nil = one per core (shared with the rest of the process).
        public var eventLoopThreads: Int?
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
        let router = makeRouter()
        var services = services
        if let capture = service.capture { services.append(CaptureService(writer: capture)) }
        return Application(
            router: router,
            server: HTTPServerBuilder { responder in ServingHTTP1Channel(responder: responder, server: self) },
            configuration: .init(
                address: .hostname(configuration.host, port: configuration.port),
                serverName: nil
            ),
            services: services,
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? 0) },
            eventLoopGroupProvider: configuration.eventLoopThreads.map { .shared(EventLoopGroups.group(threads: $0)) }
                ?? .singleton,
            logger: logger
        )
    }

    /// The router with every route: serving's, the lookups, `/openapi.json`, and each group's.
    func makeRouter() -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        addRoutes(to: router)
        addLookupRoutes(to: router)
        for group in routes { group.addRoutes(to: router) }
        let described = router.routes
        // Added last, so they see only the requests no route claimed.
        router.add(middleware: ConfiguredLookupMiddleware(server: self))
        router.add(middleware: UnknownRouteMiddleware(routes: described))
        return router
    }

    /// Every route the server answers, as `METHOD /path/{parameter}`, to check `/openapi.json` against.
    public var routeList: [String] {
        makeRouter().routes.map { "\($0.method) \($0.path)" }
    }

    /// The OpenAPI document served at `/openapi.json`.
    public var openAPIDocument: JSONValue { OpenAPIDocument.document(groups: routes) }

    /// Serves until SIGINT or SIGTERM.
    public func run(onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }) async throws {
        try await makeApplication(onServerRunning: onServerRunning).runService()
    }

    func addRoutes(to router: Router<BasicRequestContext>) {
        router.get("/ping") { _, _ in HTTPResponse.Status.ok }
        router.get("/health") { _, _ in HTTPResponse.Status.ok }
        let document = ByteBuffer(string: openAPIDocument.canonicalJSON)
        router.get("/openapi.json") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: document))
        }
        router.get("/metrics") { _, _ in
            Response(
                status: .ok,
                headers: [.contentType: "text/plain; version=0.0.4"],
                body: .init(byteBuffer: ByteBuffer(bytes: metrics.render() + captureMetrics()))
            )
        }
        // SageMaker's runtime and container routes and W1's, from the table the event-loop handler matches too.
        for entry in ServingRouteTable.entries {
            let (shape, namesStage) = (entry.shape, entry.namesStage)
            router.post(RouterPath(entry.path)) { request, context in
                await handle(
                    request, context, endpoint: context.parameters.get("name"),
                    stage: namesStage ? context.parameters.get("stage").map(StageName.init(rawValue:)) : .production,
                    shape: shape)
            }
        }
    }

    static let allocator = ByteBufferAllocator()

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
            headers: request.headers.lazy.map { ($0.name.canonicalName, $0.value) }, started: .now, server: self)
        let result: Result<Invocation, ServingError>
        do throws(ServingError) {
            let live = try admit(exchange)
            let body = try await collect(request, deadline: exchange.started + configuration.requestTimeout)
            result = .success(try invoke(live, body: body, exchange))
        } catch {
            result = .failure(error)
        }
        return complete(exchange, result, method: request.method).response
    }

    /// The checks made before a serving request's body is read: the stage it names, then key and usage plan.
    ///
    /// The stage comes first, so that a request naming no endpoint (several deployed, no default) or an unknown
    /// one is answered by the 404 that names the endpoints, without its key being checked or its quota charged.
    func admit(_ exchange: ServingExchange) throws(ServingError) -> LiveStage {
        let stage = exchange.route.stage ?? .production
        if exchange.route.endpoint == nil, service.endpoints.defaultEndpoint == nil {
            throw service.endpoints.ambiguity(path: exchange.path, stage: stage)
        }
        let live = try service.endpoints.stage(endpoint: exchange.endpointName, stage: stage)
        if exchange.route.shape != .invocations || configuration.invocationsRequireKey {
            try service.authorize(
                key: exchange.apiKey, endpoint: exchange.endpointName, now: Date().timeIntervalSince1970)
        }
        return live
    }

    /// Runs the inference on the whole body.
    func invoke(_ live: LiveStage, body: ByteBuffer, _ exchange: ServingExchange) throws(ServingError) -> Invocation {
        try service.invoke(
            live, body: body, contentType: exchange.contentType, shape: exchange.route.shape,
            targetVariant: exchange.targetVariant, inferenceId: exchange.inferenceID, allocator: Self.allocator
        )
    }

    /// Runs the inference on the whole body and completes the request: one call from the event-loop handler.
    func answer(_ live: LiveStage, body: ByteBuffer, _ exchange: ServingExchange) -> ServingReply {
        let result: Result<Invocation, ServingError>
        do throws(ServingError) {
            result = .success(try invoke(live, body: body, exchange))
        } catch {
            result = .failure(error)
        }
        return complete(exchange, result, method: .post)
    }

    /// The response to a finished serving request, counted in the metrics and written to the access log.
    func complete(
        _ exchange: ServingExchange,
        _ result: Result<Invocation, ServingError>,
        method: HTTPRequest.Method
    ) -> ServingReply {
        let reply: ServingReply
        var variant = "-"
        switch result {
        case .success(let invocation):
            variant = invocation.variant
            reply = ServingReply(
                status: .ok, contentType: invocation.contentType, body: invocation.body, variant: variant,
                inferenceId: invocation.inferenceId)
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
                "\(method) \(exchange.path) \(reply.status.code)",
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
        case .unknownEndpoint, .unknownRecord, .unknownOperation: .notFound
        case .methodNotAllowed: .methodNotAllowed
        case .missingKey: .unauthorized
        case .invalidKey: .forbidden
        case .throttled, .quotaExceeded: .tooManyRequests
        case .requestTimeout: .requestTimeout
        case .headersTooLarge: .requestHeaderFieldsTooLarge
        default: .internalServerError
        }
    }

    /// SageMaker's error shape: `x-amzn-ErrorType` and a JSON body with `ErrorCode` and `Message`.
    static func errorReply(_ error: ServingError) -> ServingReply {
        let body = "{\"ErrorCode\":\(JSONValue.quoted(error.code.name)),\"Message\":\(JSONValue.quoted(error.message))}"
        return ServingReply(
            status: status(for: error.code), contentType: "application/json", body: ByteBuffer(string: body),
            errorType: error.code.name, retryAfter: error.retryAfterSeconds
        )
    }
}

/// A serving response, rendered as `HTTPFields` for the router or as HTTP/1 headers on the event loop's path.
struct ServingReply {
    var status: HTTPResponse.Status
    var contentType: String
    var body: ByteBuffer
    /// `x-Amzn-Invoked-Production-Variant`.
    var variant: String?
    /// `x-sluice-inference-id`: the captured inference's id, the key its ground truth is sent with.
    var inferenceId: String?
    /// `x-amzn-ErrorType`.
    var errorType: String?
    /// `Retry-After`, in seconds.
    var retryAfter: Int?

    init(
        status: HTTPResponse.Status, contentType: String, body: ByteBuffer, variant: String? = nil,
        inferenceId: String? = nil, errorType: String? = nil, retryAfter: Int? = nil
    ) {
        self.inferenceId = inferenceId
        self.status = status
        self.contentType = contentType
        self.body = body
        self.variant = variant
        self.errorType = errorType
        self.retryAfter = retryAfter
    }

    /// The headers this reply sends, in order, besides `Content-Length` and `Date`.
    func forEachHeader(_ body: (_ name: String, _ value: String) -> Void) {
        body("Content-Type", contentType)
        if let variant { body("x-Amzn-Invoked-Production-Variant", variant) }
        if let inferenceId { body("x-sluice-inference-id", inferenceId) }
        if let errorType { body("x-amzn-ErrorType", errorType) }
        if let retryAfter { body("Retry-After", String(retryAfter)) }
    }

    /// The headers for a Hummingbird `Response`.
    var fields: HTTPFields {
        var fields = HTTPFields()
        forEachHeader { name, value in
            if let name = HTTPField.Name(name) { fields.append(HTTPField(name: name, value: value)) }
        }
        return fields
    }

    /// This reply as a Hummingbird `Response`, for the router's routes.
    var response: Response { Response(status: status, headers: fields, body: .init(byteBuffer: body)) }
}

extension SluiceServer {
    /// The capture writer's counts in Prometheus' text format (none without capture): records written, dropped
    /// because the buffer was full, and lost because the disk refused them.
    func captureMetrics() -> [UInt8] {
        guard let capture = service.capture else { return [] }
        var text = "# HELP sluice_capture_records_total Captured records by outcome: written, dropped (buffer full), "
        text += "failed (the disk refused them).\n# TYPE sluice_capture_records_total counter\n"
        for (outcome, count) in [
            ("written", capture.writtenCount), ("dropped", capture.droppedCount), ("failed", capture.failedCount),
        ] {
            text += "sluice_capture_records_total{outcome=\"\(outcome)\"} \(count)\n"
        }
        return Array(text.utf8)
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

/// Event-loop groups of a given size, made once per process (as NIO's own singleton is) and never shut down.
enum EventLoopGroups {
    private static let groups = Mutex<[Int: MultiThreadedEventLoopGroup]>([:])

    static func group(threads: Int) -> MultiThreadedEventLoopGroup {
        groups.withLock { groups in
            if let group = groups[threads] { return group }
            let group = MultiThreadedEventLoopGroup(numberOfThreads: max(threads, 1))
            groups[threads] = group
            return group
        }
    }
}
