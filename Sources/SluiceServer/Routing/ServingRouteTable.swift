import SluiceServing

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
}

/// The serving routes, declared once: `SluiceServer` registers each on Hummingbird's router, and the event-loop
/// handler matches request paths against the same entries.
enum ServingRouteTable {
    enum Segment: Sendable {
        case literal(String)
        /// `{name}`: the endpoint.
        case endpoint
        /// `{stage}`: the stage.
        case stage
    }

    struct Entry: Sendable {
        var segments: [Segment]
        var shape: ResponseShape

        /// The router's path pattern, e.g. `/endpoints/{name}/{stage}/stream`.
        var path: String {
            "/"
                + segments.map { segment in
                    switch segment {
                    case .literal(let text): text
                    case .endpoint: "{name}"
                    case .stage: "{stage}"
                    }
                }.joined(separator: "/")
        }

        /// Whether the path names a stage (else the stage is production).
        var namesStage: Bool { segments.contains { if case .stage = $0 { true } else { false } } }
    }

    /// SageMaker's runtime and container routes (`/invocations`), W1's `/stream` and `/batch`, for the default
    /// endpoint or a named one, on production or a named stage.
    static let entries: [Entry] = {
        var entries: [Entry] = [Entry(segments: [.literal("invocations")], shape: .invocations)]
        for (name, shape) in [("stream", ResponseShape.stream), ("batch", .batch)] {
            entries.append(Entry(segments: [.literal(name)], shape: shape))
            entries.append(Entry(segments: [.stage, .literal(name)], shape: shape))
        }
        entries.append(
            Entry(segments: [.literal("endpoints"), .endpoint, .literal("invocations")], shape: .invocations))
        for (name, shape) in [("invocations", ResponseShape.invocations), ("stream", .stream), ("batch", .batch)] {
            entries.append(Entry(segments: [.literal("endpoints"), .endpoint, .stage, .literal(name)], shape: shape))
        }
        return entries
    }()

    /// The route of a `POST` to `uri` on the event loop's path, or nil to leave the request to the router.
    ///
    /// Paths are matched with plain segments only (letters, digits, `-_.~`, not starting with a dot). A stage named
    /// without an endpoint is claimed only when the default endpoint has it, so that every path another route could
    /// claim goes to the router, which has the same serving routes and answers them alike.
    static func route(uri: String, endpoints: EndpointTable) -> ServingRoute? {
        guard let segments = plainSegments(uri) else { return nil }
        for entry in entries where entry.segments.count == segments.count {
            var endpoint: String?
            var stage: StageName?
            var matches = true
            for (pattern, segment) in zip(entry.segments, segments) {
                switch pattern {
                case .literal(let text): matches = segment == text
                case .endpoint: endpoint = String(segment)
                case .stage: stage = StageName(rawValue: String(segment))
                }
                if !matches { break }
            }
            guard matches else { continue }
            if endpoint == nil, let stage {
                guard let name = endpoints.defaultEndpoint, endpoints.contains(endpoint: name, stage: stage) else {
                    return nil
                }
            }
            return ServingRoute(endpoint: endpoint, stage: stage ?? .production, shape: entry.shape)
        }
        return nil
    }

    /// The path's segments (up to four), or nil when one is empty, starts with a dot or holds other characters.
    private static func plainSegments(_ uri: String) -> [Substring]? {
        var segments: [Substring] = []
        segments.reserveCapacity(4)
        let utf8 = uri.utf8
        guard utf8.first == UInt8(ascii: "/") else { return nil }
        var index = utf8.index(after: uri.startIndex)
        var segmentStart = index
        while true {
            let byte = index == utf8.endIndex ? UInt8(ascii: "?") : utf8[index]
            if byte == UInt8(ascii: "/") || byte == UInt8(ascii: "?") {
                guard segmentStart < index, segments.count < 4, utf8[segmentStart] != UInt8(ascii: ".") else {
                    return nil
                }
                segments.append(uri[segmentStart..<index])
                if byte == UInt8(ascii: "?") { break }
                segmentStart = utf8.index(after: index)
            } else if !isPlain(byte) {
                return nil
            }
            index = utf8.index(after: index)
        }
        return segments
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
