import Prometheus
import Synchronization

/// Prometheus metrics: request counts by endpoint, variant and status, latency histograms by endpoint and variant.
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

    /// The latest monitoring run's findings per endpoint stage: violations, drifted features, dataset drift (0/1).
    private let monitorGauges = Mutex<[String: (violations: Gauge, drifted: Gauge, dataset: Gauge)]>([:])

    /// Shows an endpoint stage's latest monitoring run as the gauges `sluice_monitor_violations`,
    /// `sluice_monitor_drifted_features` and `sluice_monitor_dataset_drift`.
    public func recordMonitoring(
        endpoint: String, stage: String, violations: Int, driftedFeatures: Int, datasetDrift: Bool
    ) {
        let gauges = monitorGauges.withLock { gauges in
            let key = endpoint + "\u{0}" + stage
            if let known = gauges[key] { return known }
            let labels = [("endpoint", endpoint), ("stage", stage)]
            func gauge(_ name: String, _ help: String) -> Gauge {
                registry.makeGauge(
                    descriptor: .init(namespace: "sluice", metricName: "monitor_\(name)", helpText: help),
                    labels: labels)
            }
            let made = (
                violations: gauge("violations", "Constraint violations found by the latest monitoring run."),
                drifted: gauge("drifted_features", "Features that drifted in the latest monitoring run."),
                dataset: gauge("dataset_drift", "1 when the latest monitoring run found dataset drift.")
            )
            gauges[key] = made
            return made
        }
        gauges.violations.set(to: Double(violations))
        gauges.drifted.set(to: Double(driftedFeatures))
        gauges.dataset.set(to: datasetDrift ? 1.0 : 0.0)
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

    /// The Prometheus text exposition.
    public func render() -> [UInt8] {
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return buffer
    }
}
