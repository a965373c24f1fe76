import Prometheus
import Synchronization

/// Prometheus metrics: request counts by endpoint, variant and status, latency histograms by endpoint and variant.
public final class ServingMetrics: Sendable {
    /// The registry `/metrics` renders.
    public let registry: PrometheusCollectorRegistry
    private struct CounterKey: Hashable {
        var endpoint: String
        var variant: String
        var status: Int
    }
    private struct HistogramKey: Hashable {
        var endpoint: String
        var variant: String
    }
    private let counters = Mutex<[CounterKey: Counter]>([:])
    private let histograms = Mutex<[HistogramKey: DurationHistogram]>([:])
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
        let counterKey = CounterKey(endpoint: endpoint, variant: variant, status: status)
        let counter =
            counters.withLock { $0[counterKey] }
            ?? {
                let made = registry.makeCounter(
                    descriptor: .init(
                        namespace: "sluice", metricName: "requests", unitName: "total",
                        helpText: "Serving requests by endpoint, variant and HTTP status."
                    ),
                    labels: [("endpoint", endpoint), ("variant", variant), ("status", String(status))]
                )
                counters.withLock { $0[counterKey] = made }
                return made
            }()
        counter.increment()
        let histogramKey = HistogramKey(endpoint: endpoint, variant: variant)
        let histogram =
            histograms.withLock { $0[histogramKey] }
            ?? {
                let made = registry.makeDurationHistogram(
                    descriptor: .init(
                        namespace: "sluice", metricName: "request_duration", unitName: "seconds",
                        helpText: "Serving latency by endpoint and variant."
                    ),
                    labels: [("endpoint", endpoint), ("variant", variant)],
                    buckets: Self.buckets
                )
                histograms.withLock { $0[histogramKey] = made }
                return made
            }()
        histogram.record(duration)
    }

    /// The Prometheus text exposition.
    public func render() -> [UInt8] {
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return buffer
    }
}
