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
    /// The latency histogram of an endpoint and variant, and its request counters by status.
    private struct Series {
        var histogram: DurationHistogram
        var counters: [Int: Counter]
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
        let (counter, histogram) = series.withLock { series in
            let key = SeriesKey(endpoint: endpoint, variant: variant)
            if let known = series[key], let counter = known.counters[status] { return (counter, known.histogram) }
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
                    counters: [:]
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
            return (counter, entry.histogram)
        }
        counter.increment()
        histogram.record(duration)
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
