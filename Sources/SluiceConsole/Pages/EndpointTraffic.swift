import Foundation
import HTTPTypes
import Hummingbird
import SluiceCore
import SluiceServer

/// The endpoints page's live traffic: requests, errors, rate and mean latency by endpoint and variant, from the counts
/// the server keeps for `/metrics`.
///
/// `GET /console/endpoints/traffic` is a server-sent event stream: a `traffic` event at once and then whenever the
/// figures change, read every `trafficInterval`; the rate and latency are those of the last interval (the latency
/// falls back to the mean since the server started when the interval saw no request).
extension ConsoleRoutes {
    /// The table rows of `totals`; with the totals of an earlier read (and its time), the rate and latency since then.
    static func trafficRows(
        _ totals: [TrafficTotals], earlier: (time: Double, totals: [TrafficTotals])?, now: Double
    ) -> [[String: String]] {
        let before = Dictionary(
            (earlier?.totals ?? []).map { ("\($0.endpoint)/\($0.variant)", $0) },
            uniquingKeysWith: { first, _ in first })
        return totals.map { series in
            let key = "\(series.endpoint)/\(series.variant)"
            var rate = "–"
            var latency = series.requests > 0 ? milliseconds(series.seconds / Double(series.requests)) : "–"
            if let earlier, now > earlier.time {
                let requests = series.requests - (before[key]?.requests ?? 0)
                rate = String(format: "%.1f/s", Double(requests) / (now - earlier.time))
                if requests > 0 {
                    latency = milliseconds((series.seconds - (before[key]?.seconds ?? 0)) / Double(requests))
                }
            }
            return [
                "key": key, "endpoint": series.endpoint, "variant": series.variant == "-" ? "(none)" : series.variant,
                "requests": String(series.requests), "errors": String(series.errors), "rate": rate,
                "latency": latency,
            ]
        }
    }

    static func milliseconds(_ seconds: Double) -> String { String(format: "%.2f ms", seconds * 1000) }

    func trafficStream() -> Response {
        Self.eventStream(TrafficFollower(metrics: metrics), clock: clock, interval: configuration.trafficInterval)
    }
}

/// The server's request counts, as rows of the endpoints page's traffic table.
struct TrafficFollower: StreamFollower {
    let metrics: ServingMetrics
    var earlier: (time: Double, totals: [TrafficTotals])?
    var lastSent = ""

    init(metrics: ServingMetrics) { self.metrics = metrics }

    mutating func poll(now: Double) throws -> (event: String?, finished: Bool) {
        let totals = metrics.traffic()
        let rows = ConsoleRoutes.trafficRows(totals, earlier: earlier, now: now)
        earlier = (now, totals)
        let data = JSONValue.array(rows.map { .object($0.mapValues(JSONValue.string)) }).canonicalJSON
        guard data != lastSent else { return (nil, false) }
        lastSent = data
        return ("event: traffic\ndata: \(data)\n\n", false)
    }
}
