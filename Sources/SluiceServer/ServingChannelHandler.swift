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
    private var connection: ConnectionStateMachine
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
        let (seconds, attoseconds) = server.configuration.idleTimeout.components
        connection = ConnectionStateMachine(
            idleTimeout: .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000), now: .now())
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        connection.read(at: .now())
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
            connection.requestStarted()
            if routerRequests == 0, let error = overLimit(head) {
                refuse(context, error)
            } else if routerRequests == 0, let exchange = exchange(for: head) {
                do throws(ServingError) {
                    reading = (exchange, try server.admit(exchange))
                    state = .reading
                } catch {
                    refuse(context, exchange, error)
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
                    refuse(context, exchange, server.overdue())
                    endReading()
                    state = .discarding
                }
            case .passing:
                passOn()
            case .idle, .discarding:
                break
            }
        case .end:
            connection.requestEnded()
            switch state {
            case .reading:
                if let (exchange, live) = reading {
                    let body = body ?? ByteBuffer()
                    endReading()
                    if body.readableBytes > Self.eventLoopPredictionLimit {
                        predictOffLoop(context, exchange, live, body)
                    } else {
                        respond(context, server.answer(live, body: body, exchange))
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
        if case .passing = state, connection.isReadingRequest, bodyDeadline == nil {
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
            self.refuse(context, exchange, self.server.overdue())
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
            guard case .passing = self.state, self.connection.isReadingRequest, self.passingStarted == started else {
                return
            }
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
            let reply = server.answer(live, body: body, exchange)
            loop.execute {
                let (handler, context) = bound.value
                handler.predicting = false
                // The connection closed meanwhile: nobody to answer.
                guard !handler.removed else { return }
                handler.respond(context, reply)
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
        if connection.responseEnded(at: .now()) == .close {
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
        perform(connection.quiesce(), context)
    }

    /// Closes the connection once it has been silent for the idle timeout (the state machine decides).
    private func scheduleIdleCheck(_ context: ChannelHandlerContext) {
        guard idleCheck == nil else { return }
        perform(connection.firstIdleCheck, context)
    }

    /// Performs an action of the connection's state machine.
    private func perform(_ action: ConnectionStateMachine.Action, _ context: ChannelHandlerContext) {
        switch action {
        case .none:
            break
        case .close:
            context.close(promise: nil)
        case .checkIdle(let deadline):
            idleCheck = context.eventLoop.assumeIsolatedUnsafeUnchecked().scheduleTask(deadline: deadline) {
                self.idleCheck = nil
                self.perform(self.connection.idleCheckDue(at: .now()), context)
            }
        }
    }

    // MARK: Serving

    /// The exchange of a request this handler answers, or nil when it goes to the router.
    private func exchange(for head: HTTPRequestHead) -> ServingExchange? {
        guard head.method == .POST, head.version == .http1_1,
            let route = ServingRouteTable.route(uri: head.uri, endpoints: server.service.endpoints)
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

    /// Answers a request refused before its body was predicted on.
    private func refuse(_ context: ChannelHandlerContext, _ exchange: ServingExchange, _ error: ServingError) {
        respond(context, server.complete(exchange, .failure(error), method: .post))
    }

    private func respond(_ context: ChannelHandlerContext, _ reply: ServingReply) {
        var headers = HTTPHeaders()
        headers.reserveCapacity(6)
        reply.forEachHeader { name, value in headers.add(name: name, value: value) }
        headers.add(name: "Content-Length", value: String(reply.body.readableBytes))
        headers.add(name: "Date", value: HTTPDate.now())
        let status = HTTPResponseStatus(statusCode: reply.status.code, reasonPhrase: reply.status.reasonPhrase)
        context.write(
            wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(reply.body))), promise: nil)
        if connection.responseEnded(at: .now()) == .close {
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            context.close(promise: nil)
        } else {
            context.write(wrapOutboundOut(.end(nil)), promise: nil)
            needsFlush = true
        }
    }
}
