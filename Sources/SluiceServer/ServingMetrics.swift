import Prometheus
import Synchronization

/// Prometheus metrics: request counts by endpoint, variant and status, latency histograms by endpoint and variant,
/// and gauges set by the server's other parts (the monitor's alerts).
public final class ServingMetrics: Sendable {
    /// The registry `/metrics` renders.
    public let registry: PrometheusCollectorRegistry
    private struct SeriesKey: Hashable {
        var endpoint: String
        var variant: String
    }
    /// The latency histogram of an endpoint and variant, its request counters by status, and the same counts kept
    /// readable for the console.
    private struct Series {
        var histogram: DurationHistogram
        var counters: [Int: Counter]
        var tally: Tally
    }
    /// Running totals of one series, updated by the same `record` call that feeds the Prometheus series.
    private final class Tally: Sendable {
        let requests = Atomic<Int>(0)
        let errors = Atomic<Int>(0)
        let nanoseconds = Atomic<Int>(0)
    }
    private let series = Mutex<[SeriesKey: Series]>([:])
    private static let buckets: [Duration] = [
        .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2),
        .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
        .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(5),
    ]

    /// Creates metrics in `registry`.
    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
    }

    /// Counts one request and records its latency.
    public func record(endpoint: String, variant: String, status: Int, duration: Duration) {
        // One lock and one lookup per request; the registry is asked only for series not seen before.
        let (counter, histogram, tally) = series.withLock { series in
            let key = SeriesKey(endpoint: endpoint, variant: variant)
            if let known = series[key], let counter = known.counters[status] {
                return (counter, known.histogram, known.tally)
            }
            var entry =
                series[key]
                ?? Series(
                    histogram: registry.makeDurationHistogram(
                        descriptor: .init(
                            namespace: "sluice", metricName: "request_duration", unitName: "seconds",
                            helpText: "Serving latency by endpoint and variant."
                        ),
                        labels: [("endpoint", endpoint), ("variant", variant)],
                        buckets: Self.buckets
                    ),
                    counters: [:], tally: Tally()
                )
            let counter = registry.makeCounter(
                descriptor: .init(
                    namespace: "sluice", metricName: "requests", unitName: "total",
                    helpText: "Serving requests by endpoint, variant and HTTP status."
                ),
                labels: [("endpoint", endpoint), ("variant", variant), ("status", String(status))]
            )
            entry.counters[status] = counter
            series[key] = entry
            return (counter, entry.histogram, entry.tally)
        }
        counter.increment()
        histogram.record(duration)
        tally.requests.wrappingAdd(1, ordering: .relaxed)
        if status >= 400 { tally.errors.wrappingAdd(1, ordering: .relaxed) }
        let (seconds, attoseconds) = duration.components
        tally.nanoseconds.wrappingAdd(
            Int(seconds) * 1_000_000_000 + Int(attoseconds / 1_000_000_000), ordering: .relaxed)
    }

    /// Requests served so far by endpoint and variant (the counts `/metrics` exposes, summed over statuses), sorted;
    /// requests to no known endpoint are left out.
    public func traffic() -> [TrafficTotals] {
        let tallies = series.withLock { series in series.map { ($0.key, $0.value.tally) } }
        return tallies.filter { $0.0.endpoint != "-" }.map { key, tally in
            TrafficTotals(
                endpoint: key.endpoint, variant: key.variant, requests: tally.requests.load(ordering: .relaxed),
                errors: tally.errors.load(ordering: .relaxed),
                seconds: Double(tally.nanoseconds.load(ordering: .relaxed)) / 1e9)
        }.sorted { ($0.endpoint, $0.variant) < ($1.endpoint, $1.variant) }
    }

    /// Sets gauge `sluice_<name>` with `labels` (the registry returns the same gauge for the same name and labels).
    /// - Parameter help: the `# HELP` line of the metric.
    public func setGauge(_ name: String, help: String, labels: [(String, String)], to value: Double) {
        registry.makeGauge(
            descriptor: .init(namespace: "sluice", metricName: name, unitName: "", helpText: help), labels: labels
        ).set(value)
    }

    /// The Prometheus text exposition.
    public func render() -> [UInt8] {
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return buffer
    }
}

/// The requests one endpoint variant answered since the server started.
public struct TrafficTotals: Sendable, Hashable {
    public var endpoint: String
    /// The variant that answered; `-` for requests refused before a variant was picked.
    public var variant: String
    public var requests: Int
    /// Answers with a status of 400 or more.
    public var errors: Int
    /// The sum of the requests' latencies.
    public var seconds: Double
}
