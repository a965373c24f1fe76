import Foundation
import HTTPTypes
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1
import SluiceServing
import Synchronization

/// Where a serving request goes, from its route.
struct ServingRoute: Sendable {
    /// The endpoint named in the path; nil = the default endpoint.
    var endpoint: String?
    /// The stage named in the path; nil = production.
    var stage: StageName?
    /// How the answer is shaped.
    var shape: ResponseShape

    init(endpoint: String?, stage: StageName?, shape: ResponseShape) {
        self.endpoint = endpoint
        self.stage = stage
        self.shape = shape
    }

    /// The route of a `POST` to `uri` on the event loop's path, or nil to leave the request to the router.
    ///
    /// Recognised: `/stream`, `/batch`, `/invocations`, `/{stage}/stream|batch` for a stage the default endpoint
    /// has, `/endpoints/{name}/invocations` and `/endpoints/{name}/{stage}/stream|batch|invocations`, with plain
    /// path segments (letters, digits, `-_.~`, not starting with a dot). Anything else, including every path
    /// another route could claim, goes to the router, which has the same serving routes and answers them alike.
    init?(uri: String, endpoints: EndpointTable) {
        var segments: [Substring] = []
        segments.reserveCapacity(4)
        var segmentStart: String.Index?
        var index = uri.startIndex
        let utf8 = uri.utf8
        guard utf8.first == UInt8(ascii: "/") else { return nil }
        index = utf8.index(after: index)
        segmentStart = index
        while true {
            let byte = index == utf8.endIndex ? UInt8(ascii: "?") : utf8[index]
            if byte == UInt8(ascii: "/") || byte == UInt8(ascii: "?") {
                guard let start = segmentStart, start < index, segments.count < 4,
                    utf8[start] != UInt8(ascii: ".")
                else { return nil }
                segments.append(uri[start..<index])
                if byte == UInt8(ascii: "?") { break }
                segmentStart = utf8.index(after: index)
            } else if !Self.isPlain(byte) {
                return nil
            }
            index = utf8.index(after: index)
        }
        func shape(_ name: Substring, invocations: Bool) -> ResponseShape? {
            switch name {
            case "stream": .stream
            case "batch": .batch
            case "invocations" where invocations: .invocations
            default: nil
            }
        }
        switch segments.count {
        case 1:
            guard let shape = shape(segments[0], invocations: true) else { return nil }
            self.init(endpoint: nil, stage: .production, shape: shape)
        case 2:
            let stage = StageName(rawValue: String(segments[0]))
            guard let shape = shape(segments[1], invocations: false), let name = endpoints.defaultEndpoint,
                endpoints.contains(endpoint: name, stage: stage)
            else { return nil }
            self.init(endpoint: nil, stage: stage, shape: shape)
        case 3:
            guard segments[0] == "endpoints", segments[2] == "invocations" else { return nil }
            self.init(endpoint: String(segments[1]), stage: .production, shape: .invocations)
        case 4:
            guard segments[0] == "endpoints", let shape = shape(segments[3], invocations: true) else { return nil }
            self.init(endpoint: String(segments[1]), stage: StageName(rawValue: String(segments[2])), shape: shape)
        default:
            return nil
        }
    }

    private static func isPlain(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."),
            UInt8(ascii: "~"):
            true
        default: false
        }
    }
}

/// One serving request: its route, the headers it reads (found in one pass), and when it started.
struct ServingExchange: Sendable {
    var route: ServingRoute
    var endpointName: String
    var apiKey: String?
    var contentType: String?
    var targetVariant: String?
    var started: ContinuousClock.Instant
    /// The request's path, for the access log.
    var path: String

    init(
        route: ServingRoute,
        path: String,
        headers: some Sequence<(String, String)>,
        started: ContinuousClock.Instant,
        server: SluiceServer
    ) {
        self.route = route
        self.path = path
        self.endpointName = route.endpoint ?? server.service.endpoints.defaultEndpoint ?? "default"
        self.started = started
        // Repeated fields are joined with ", " as `HTTPFields`' subscript does.
        func append(_ value: String, to slot: inout String?) {
            slot = slot.map { $0 + ", " + value } ?? value
        }
        for (name, value) in headers {
            if asciiCaselessEqual(name, "x-api-key") {
                append(value, to: &apiKey)
            } else if asciiCaselessEqual(name, "content-type") {
                append(value, to: &contentType)
            } else if asciiCaselessEqual(name, "x-amzn-sagemaker-target-variant") {
                append(value, to: &targetVariant)
            }
        }
    }
}

/// Whether `name` equals `lowercase` ignoring ASCII case.
func asciiCaselessEqual(_ name: String, _ lowercase: StaticString) -> Bool {
    let utf8 = name.utf8
    guard utf8.count == lowercase.utf8CodeUnitCount else { return false }
    return lowercase.withUTF8Buffer { expected in
        var index = 0
        for byte in utf8 {
            let folded = byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte | 0x20 : byte
            guard folded == expected[index] else { return false }
            index += 1
        }
        return true
    }
}

/// Hummingbird's HTTP/1 child channel with the serving handler in front of the HTTP-types conversion: the serving
/// routes are answered on the event loop, everything else goes through Hummingbird as before.
struct ServingHTTP1Channel: HTTPChannelHandler {
    typealias Value = NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>

    let responder: HTTPChannelHandler.Responder
    let server: SluiceServer

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            // As Hummingbird's `HTTP1Channel` sets it up, with the serving handler before the conversion to HTTP
            // types; the serving handler keeps the idle timeout and graceful shutdown for every request (in place
            // of Hummingbird's `HTTPConnectionStateHandler`, which would see only the router's requests).
            var limits = NIOHTTPDecoderLimitConfiguration()
            limits.maxHeaderFieldSize = RequestLimits.headerBytes
            limits.maxHeaderListSize = RequestLimits.headerBytes
            limits.maxHeaderFieldCount = RequestLimits.headerFields
            let pipeline = channel.pipeline.syncOperations
            try pipeline.configureHTTPServerPipeline(
                withPipeliningAssistance: false,
                withErrorHandling: false,
                withOutboundHeaderValidation: false,
                withEncoderConfiguration: .init(),
                withDecoderLimitConfiguration: limits
            )
            try pipeline.addHandler(ServingChannelHandler(server: server))
            try pipeline.addHandler(HTTP1ToHTTPServerCodec(secure: false))
            return try NIOAsyncChannel(
                wrappingChannelSynchronously: channel,
                configuration: .init(isOutboundHalfClosureEnabled: true)
            )
        }
    }

    func handle(value: Value, logger: Logger) async {
        await handleHTTP(asyncChannel: value, logger: logger)
    }
}

/// Answers the serving routes as soon as a request's body is complete, without Hummingbird's per-request task,
/// HTTP-types conversion, router and response writer (most of the CPU a small request cost), and keeps the
/// connection's idle timeout and graceful shutdown for every request.
///
/// Small bodies are predicted on the event loop; bodies over `eventLoopPredictionLimit` (a `/batch` of 100 rows)
/// on Swift's concurrency pool, so that a large batch does not hold up the loop's other connections, with the
/// connection's later requests held until the answer is written. Every other request is passed on unchanged.
/// Serving requests are passed on too (to the router's routes for the same paths, answered alike off the event
/// loop) when their body is larger than `bufferedBodyLimit` or of unknown length, when they do not keep the
/// connection alive, or when an earlier request of the connection is still with the router, so that answers keep
/// the order of the requests.
final class ServingChannelHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    /// The largest body this handler collects; larger ones stream to the router.
    static let bufferedBodyLimit = 64 * 1024
    /// Larger bodies are predicted off the event loop.
    static let eventLoopPredictionLimit = 2 * 1024

    private enum State {
        /// Between requests.
        case idle
        /// Reading the body of `reading`, a serving request that passed the key, plan and stage checks.
        case reading
        /// The request was answered early (refused before or while its body arrived); the rest of it is dropped.
        case discarding
        /// The request belongs to the router.
        case passing
    }

    private let server: SluiceServer
    private var state = State.idle
    /// The serving request being read, its stage and its body so far (kept apart from `state`, so that appending
    /// copies nothing).
    private var reading: (exchange: ServingExchange, live: LiveStage)?
    private var body: ByteBuffer?
    /// Requests passed to the router whose response has not been written yet.
    private var routerRequests = 0
    private var needsFlush = false
    /// Whether a prediction runs off the event loop; request parts that arrive meanwhile wait in `held`, and so
    /// does the next socket read.
    private var predicting = false
    private var held: [HTTPServerRequestPart] = []
    private var readHeld = false
    // Connection state, as Hummingbird's `HTTPConnectionStateHandler` keeps it.
    private var requestsInProgress = 0
    private var isReadingRequest = false
    private var lastActive = NIODeadline.now()
    private var closeAfterResponse = false
    private var idleCheck: Scheduled<Void>?
    /// Answers 408 when the body being read is not complete by the request timeout, even if no more of it arrives.
    private var bodyDeadline: Scheduled<Void>?
    /// When the request being passed to the router began, for its 408.
    private var passingStarted = ContinuousClock.now
    /// Whether the router has written the head of an answer and not yet its end.
    private var routerAnswering = false
    private var removed = false

    init(server: SluiceServer) {
        self.server = server
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        lastActive = .now()
        let part = unwrapInboundIn(data)
        if predicting {
            held.append(part)
        } else {
            process(context, part, data)
        }
    }

    /// Handles one request part; `data` is the part as received, passed on when it belongs to the router.
    private func process(_ context: ChannelHandlerContext, _ part: HTTPServerRequestPart, _ data: NIOAny?) {
        func passOn() { context.fireChannelRead(data ?? wrapInboundOut(part)) }
        switch part {
        case .head(let head):
            requestsInProgress += 1
            isReadingRequest = true
            if routerRequests == 0, let error = overLimit(head) {
                refuse(context, error)
            } else if routerRequests == 0, let exchange = exchange(for: head) {
                do throws(ServingError) {
                    reading = (exchange, try server.admit(exchange))
                    state = .reading
                } catch {
                    respond(context, exchange, .failure(error))
                    state = .discarding
                }
            } else {
                routerRequests += 1
                state = .passing
                passingStarted = .now
                passOn()
            }
        case .body(var chunk):
            switch state {
            case .reading:
                if body == nil {
                    body = chunk
                } else {
                    body!.writeBuffer(&chunk)
                }
                if let exchange = reading?.exchange,
                    ContinuousClock.now > exchange.started + server.configuration.requestTimeout
                {
                    respond(context, exchange, .failure(server.overdue()))
                    endReading()
                    state = .discarding
                }
            case .passing:
                passOn()
            case .idle, .discarding:
                break
            }
        case .end:
            isReadingRequest = false
            switch state {
            case .reading:
                if let (exchange, live) = reading {
                    let body = body ?? ByteBuffer()
                    endReading()
                    if body.readableBytes > Self.eventLoopPredictionLimit {
                        predictOffLoop(context, exchange, live, body)
                    } else {
                        respond(context, exchange, server.invokeResult(live, body: body, exchange))
                    }
                }
            case .passing:
                bodyDeadline?.cancel()
                bodyDeadline = nil
                passOn()
            case .idle, .discarding:
                break
            }
            state = .idle
        }
    }

    private func endReading() {
        reading = nil
        body = nil
        bodyDeadline?.cancel()
        bodyDeadline = nil
    }

    /// Called when a read ends with a body still incomplete (a whole small request arrives in one read and needs no
    /// timer).
    private func scheduleBodyDeadline(_ context: ChannelHandlerContext) {
        if case .passing = state, isReadingRequest, bodyDeadline == nil {
            schedulePassedBodyDeadline(context)
            return
        }
        guard case .reading = state, bodyDeadline == nil, let exchange = reading?.exchange else { return }
        let left = exchange.started + server.configuration.requestTimeout - ContinuousClock.now
        let (seconds, attoseconds) = max(left, .zero).components
        let timeout = TimeAmount.nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
        bodyDeadline = context.eventLoop.assumeIsolatedUnsafeUnchecked().scheduleTask(in: timeout) {
            self.bodyDeadline = nil
            guard case .reading = self.state, self.reading?.exchange.started == exchange.started else { return }
            self.respond(context, exchange, .failure(self.server.overdue()))
            self.endReading()
            self.state = .discarding
            if self.needsFlush {
                self.needsFlush = false
                context.flush()
            }
        }
    }

    /// The router's routes get the same 408 as the serving path when a body stops arriving: answered here at the
    /// request timeout (the router's readers would otherwise wait for the idle timeout), unless the router has
    /// begun an answer of its own, in which case the connection is only closed.
    private func schedulePassedBodyDeadline(_ context: ChannelHandlerContext) {
        let started = passingStarted
        let left = started + server.configuration.requestTimeout - ContinuousClock.now
        let (seconds, attoseconds) = max(left, .zero).components
        let timeout = TimeAmount.nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
        bodyDeadline = context.eventLoop.assumeIsolatedUnsafeUnchecked().scheduleTask(in: timeout) {
            self.bodyDeadline = nil
            guard case .passing = self.state, self.isReadingRequest, self.passingStarted == started else { return }
            if self.routerRequests == 1, !self.routerAnswering {
                self.refuse(context, self.server.overdue())
            } else {
                context.close(promise: nil)
            }
        }
    }

    /// A request whose head is already over a limit: its declared body is larger than its route accepts.
    private func overLimit(_ head: HTTPRequestHead) -> ServingError? {
        guard let value = head.headers.first(name: "content-length"), let declared = Int(value) else { return nil }
        let limit = RequestLimits.bodyLimit(uri: head.uri, servingBody: server.configuration.bodyLimit)
        return declared > limit ? RequestLimits.tooLarge(declared: declared, limit: limit) : nil
    }

    /// Answers the request being read with `error` before its body is read, and closes the connection.
    private func refuse(_ context: ChannelHandlerContext, _ error: ServingError) {
        let reply = SluiceServer.errorReply(error)
        var headers = HTTPHeaders()
        reply.forEachHeader { name, value in headers.add(name: name, value: value) }
        headers.add(name: "Content-Length", value: String(reply.body.readableBytes))
        headers.add(name: "Connection", value: "close")
        headers.add(name: "Date", value: HTTPDate.now())
        let status = HTTPResponseStatus(statusCode: reply.status.code, reasonPhrase: reply.status.reasonPhrase)
        context.write(
            wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(reply.body))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        context.close(promise: nil)
        endReading()
        state = .discarding
        needsFlush = false
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // The decoder refuses headers over their limits: answer 431 (other malformed requests 400) rather than
        // dropping the connection without a word, unless an answer is already under way.
        if let error = error as? HTTPParserError, !routerAnswering, routerRequests == 0, !predicting {
            if error == .headerOverflow {
                refuse(context, RequestLimits.headersTooLarge())
            } else {
                refuse(context, ServingError(.validation, "The request is not valid HTTP/1.1 (\(error))."))
            }
            return
        }
        context.fireErrorCaught(error)
    }

    /// Predicts on Swift's concurrency pool and answers back on the event loop, then goes on with the parts that
    /// arrived meanwhile.
    private func predictOffLoop(
        _ context: ChannelHandlerContext, _ exchange: ServingExchange, _ live: LiveStage, _ body: ByteBuffer
    ) {
        predicting = true
        let loop = context.eventLoop
        let bound = NIOLoopBound((self, context), eventLoop: loop)
        let server = server
        Task {
            let result = server.invokeResult(live, body: body, exchange)
            loop.execute {
                let (handler, context) = bound.value
                handler.predicting = false
                // The connection closed meanwhile: nobody to answer.
                guard !handler.removed else { return }
                handler.respond(context, exchange, result)
                handler.resumeHeld(context)
            }
        }
    }

    private func resumeHeld(_ context: ChannelHandlerContext) {
        while !predicting, !held.isEmpty {
            process(context, held.removeFirst(), nil)
        }
        if needsFlush {
            needsFlush = false
            context.flush()
        }
        if !predicting, readHeld {
            readHeld = false
            context.read()
        }
    }

    func read(context: ChannelHandlerContext) {
        if predicting {
            readHeld = true
        } else {
            context.read()
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        scheduleBodyDeadline(context)
        if needsFlush {
            needsFlush = false
            context.flush()
        }
        context.fireChannelReadComplete()
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard case .end = unwrapOutboundIn(data) else {
            if case .head = unwrapOutboundIn(data) { routerAnswering = true }
            context.write(data, promise: promise)
            return
        }
        routerAnswering = false
        if routerRequests > 0 { routerRequests -= 1 }
        if responseEnded() {
            context.writeAndFlush(data, promise: promise)
            context.close(promise: nil)
        } else {
            context.write(data, promise: promise)
        }
    }

    // MARK: Connection state

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { scheduleIdleCheck(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        scheduleIdleCheck(context)
        context.fireChannelActive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        removed = true
        idleCheck?.cancel()
        idleCheck = nil
        bodyDeadline?.cancel()
        bodyDeadline = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        idleCheck?.cancel()
        idleCheck = nil
        context.fireChannelInactive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard event is ChannelShouldQuiesceEvent else {
            context.fireUserInboundEventTriggered(event)
            return
        }
        // Graceful shutdown: close now if nothing is in progress, else after the last response.
        if requestsInProgress == 0 {
            context.close(promise: nil)
        } else {
            closeAfterResponse = true
        }
    }

    /// Counts a finished response; returns whether the connection should now close.
    private func responseEnded() -> Bool {
        lastActive = .now()
        requestsInProgress = max(requestsInProgress - 1, 0)
        return requestsInProgress == 0 && closeAfterResponse
    }

    /// Closes the connection once it has been silent for the idle timeout, except while a request it has fully
    /// received is being answered.
    private func scheduleIdleCheck(_ context: ChannelHandlerContext) {
        guard idleCheck == nil else { return }
        let timeout = TimeAmount.nanoseconds(
            Int64(server.configuration.idleTimeout.components.seconds) * 1_000_000_000
                + server.configuration.idleTimeout.components.attoseconds / 1_000_000_000)
        idleCheck = context.eventLoop.assumeIsolatedUnsafeUnchecked().scheduleTask(deadline: lastActive + timeout) {
            self.idleCheck = nil
            let answering = !self.isReadingRequest && self.requestsInProgress > 0
            if !answering, NIODeadline.now() >= self.lastActive + timeout {
                context.close(promise: nil)
            } else {
                if answering { self.lastActive = .now() }
                self.scheduleIdleCheck(context)
            }
        }
    }

    // MARK: Serving

    /// The exchange of a request this handler answers, or nil when it goes to the router.
    private func exchange(for head: HTTPRequestHead) -> ServingExchange? {
        guard head.method == .POST, head.version == .http1_1,
            let route = ServingRoute(uri: head.uri, endpoints: server.service.endpoints)
        else { return nil }
        var length: Int?
        for (name, value) in head.headers {
            if asciiCaselessEqual(name, "content-length") {
                guard length == nil, let value = Int(value) else { return nil }
                length = value
            } else if asciiCaselessEqual(name, "connection") {
                guard asciiCaselessEqual(value, "keep-alive") else { return nil }
            } else if asciiCaselessEqual(name, "transfer-encoding") {
                return nil
            }
        }
        guard let length, length <= min(Self.bufferedBodyLimit, server.configuration.bodyLimit) else { return nil }
        let path = head.uri.utf8.firstIndex(of: UInt8(ascii: "?")).map { String(head.uri[..<$0]) } ?? head.uri
        return ServingExchange(
            route: route, path: path, headers: head.headers.lazy.map { ($0.name, $0.value) }, started: .now,
            server: server)
    }

    private func respond(
        _ context: ChannelHandlerContext,
        _ exchange: ServingExchange,
        _ result: Result<Invocation, ServingError>
    ) {
        let reply = server.complete(exchange, result, method: .post)
        var headers = HTTPHeaders()
        headers.reserveCapacity(6)
        reply.forEachHeader { name, value in headers.add(name: name, value: value) }
        headers.add(name: "Content-Length", value: String(reply.body.readableBytes))
        headers.add(name: "Date", value: HTTPDate.now())
        let status = HTTPResponseStatus(statusCode: reply.status.code, reasonPhrase: reply.status.reasonPhrase)
        context.write(
            wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(reply.body))), promise: nil)
        if responseEnded() {
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            context.close(promise: nil)
        } else {
            context.write(wrapOutboundOut(.end(nil)), promise: nil)
            needsFlush = true
        }
    }
}

/// The `Date` header's value (RFC 9110's IMF-fixdate), formatted at most once a second.
enum HTTPDate {
    private static let cache = Mutex<(second: Int, text: String)>((-1, ""))
    private static let days = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"]
    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    static func now() -> String {
        let second = Int(Date().timeIntervalSince1970.rounded(.down))
        return cache.withLock { cache in
            if cache.second != second {
                cache = (second, format(secondsSince1970: second))
            }
            return cache.text
        }
    }

    static func format(secondsSince1970 second: Int) -> String {
        let date = UTCDate(secondsSince1970: Double(second))
        let weekday = days[((second / 86_400) % 7 + 7) % 7]
        func two(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(weekday), \(two(date.day)) \(months[date.month - 1]) \(date.year) "
            + "\(two(date.hour)):\(two(date.minute)):\(two(date.second)) GMT"
    }
}
