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

/// One serving request: its route, the headers it reads (found in one pass), and when it started.
struct ServingExchange: Sendable {
    var route: ServingRoute
    var endpointName: String
    var apiKey: String?
    var contentType: String?
    var targetVariant: String?
    /// `X-Amzn-SageMaker-Inference-Id`: the client's name for the inference, captured in place of a generated one.
    var inferenceID: String?
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
            } else if asciiCaselessEqual(name, "x-amzn-sagemaker-inference-id") {
                append(value, to: &inferenceID)
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
