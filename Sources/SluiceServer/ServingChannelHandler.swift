import Foundation
import HTTPTypes
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTPTypes
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

    /// The route of a `POST` to `path` on the event loop's path, or nil to leave the request to the router.
    ///
    /// Recognised: `/stream`, `/batch`, `/invocations`, `/{stage}/stream|batch` for a stage the default endpoint
    /// has, `/endpoints/{name}/invocations` and `/endpoints/{name}/{stage}/stream|batch|invocations`, with plain
    /// path segments (letters, digits, `-_.~`). Anything else, including every path another route could claim,
    /// goes to the router, which knows the same serving routes and answers them the same way.
    init?(path: String, endpoints: EndpointTable) {
        var segments: [Substring] = []
        var path = Substring(path)
        if let query = path.utf8.firstIndex(of: UInt8(ascii: "?")) { path = path[..<query] }
        guard path.utf8.first == UInt8(ascii: "/") else { return nil }
        for segment in path.utf8.dropFirst().split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false) {
            guard !segment.isEmpty, segment.count <= 128, segment.allSatisfy(Self.isPlain),
                segment.first != UInt8(ascii: ".")
            else { return nil }
            segments.append(Substring(segment))
            if segments.count > 4 { return nil }
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

    init(endpoint: String?, stage: StageName?, shape: ResponseShape) {
        self.endpoint = endpoint
        self.stage = stage
        self.shape = shape
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
        route: ServingRoute, path: String, fields: HTTPFields, started: ContinuousClock.Instant, server: SluiceServer
    ) {
        self.route = route
        self.path = path
        self.endpointName = route.endpoint ?? server.service.endpoints.defaultEndpoint ?? "default"
        self.started = started
        // Repeated fields are joined with ", " as `HTTPFields`' subscript does.
        func append(_ value: String, to slot: inout String?) {
            slot = slot.map { $0 + ", " + value } ?? value
        }
        for field in fields {
            switch field.name {
            case SluiceServer.apiKeyHeader: append(field.value, to: &apiKey)
            case .contentType: append(field.value, to: &contentType)
            case SluiceServer.targetVariantHeader: append(field.value, to: &targetVariant)
            default: break
            }
        }
    }
}

/// Answers the serving routes on the connection's event loop, as soon as a request's body is complete, without
/// Hummingbird's per-request task, router and response writer (most of the CPU a small request cost).
///
/// It sits between the HTTP codec and Hummingbird's handlers and passes every other request on, unchanged. Serving
/// requests are passed on too (to the router's identical routes, off the event loop) when their body is larger
/// than `eventLoopBodyLimit` or of unknown length, when they ask to close the connection, or when an earlier
/// request of the connection is still with the router, so that answers keep the order of the requests.
final class ServingChannelHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    /// Larger bodies are predicted off the event loop, so that one big batch does not hold up other connections.
    static let eventLoopBodyLimit = 64 * 1024

    private enum State {
        /// Between requests.
        case idle
        /// Reading the body of a serving request that passed the key, plan and stage checks.
        case reading(ServingExchange, LiveStage, ByteBuffer?)
        /// The request was answered early (refused before or while its body arrived); the rest of it is dropped.
        case discarding
        /// The request belongs to the router.
        case passing
    }

    private let server: SluiceServer
    private var state = State.idle
    /// Requests passed to the router whose response has not been written yet.
    private var routerRequests = 0
    private var needsFlush = false

    init(server: SluiceServer) {
        self.server = server
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            if routerRequests == 0, let exchange = exchange(for: head) {
                do throws(ServingError) {
                    state = .reading(exchange, try server.admit(exchange), nil)
                } catch {
                    respond(context, exchange, .failure(error))
                    state = .discarding
                }
            } else {
                routerRequests += 1
                state = .passing
                context.fireChannelRead(data)
            }
        case .body(var chunk):
            switch state {
            case .reading(let exchange, let live, var body):
                state = .discarding  // drop the buffer's reference while appending, so it is not copied
                if body == nil {
                    body = chunk
                } else {
                    body!.writeBuffer(&chunk)
                }
                if ContinuousClock.now > exchange.started + server.configuration.requestTimeout {
                    respond(context, exchange, .failure(server.overdue()))
                } else {
                    state = .reading(exchange, live, body)
                }
            case .passing:
                context.fireChannelRead(data)
            case .idle, .discarding:
                break
            }
        case .end:
            switch state {
            case .reading(let exchange, let live, let body):
                let result: Result<Invocation, ServingError>
                do throws(ServingError) {
                    result = .success(try server.invoke(live, body: body ?? ByteBuffer(), exchange))
                } catch {
                    result = .failure(error)
                }
                respond(context, exchange, result)
            case .passing:
                context.fireChannelRead(data)
            case .idle, .discarding:
                break
            }
            state = .idle
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if needsFlush {
            needsFlush = false
            context.flush()
        }
        context.fireChannelReadComplete()
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data), routerRequests > 0 { routerRequests -= 1 }
        context.write(data, promise: promise)
    }

    /// The exchange of a request this handler answers, or nil when it goes to the router.
    private func exchange(for head: HTTPRequest) -> ServingExchange? {
        guard head.method == .post, let path = head.path,
            let route = ServingRoute(path: path, endpoints: server.service.endpoints)
        else { return nil }
        var length: Int?
        for field in head.headerFields {
            switch field.name {
            case .contentLength:
                guard length == nil, let value = Int(field.value) else { return nil }
                length = value
            case .connection:
                guard field.value.utf8.elementsEqual("keep-alive".utf8) else { return nil }
            case .transferEncoding:
                return nil
            default: break
            }
        }
        guard let length, length <= min(Self.eventLoopBodyLimit, server.configuration.bodyLimit) else { return nil }
        return ServingExchange(route: route, path: path, fields: head.headerFields, started: .now, server: server)
    }

    private func respond(
        _ context: ChannelHandlerContext,
        _ exchange: ServingExchange,
        _ result: Result<Invocation, ServingError>
    ) {
        var reply = server.complete(exchange, result, method: .post, path: exchange.path)
        reply.headers[.contentLength] = String(reply.body.readableBytes)
        reply.headers[.date] = HTTPDate.now()
        context.write(wrapOutboundOut(.head(HTTPResponse(status: reply.status, headerFields: reply.headers))), promise: nil)
        context.write(wrapOutboundOut(.body(reply.body)), promise: nil)
        context.write(wrapOutboundOut(.end(nil)), promise: nil)
        needsFlush = true
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
