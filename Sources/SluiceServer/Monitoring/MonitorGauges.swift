public import SluiceCore
import Synchronization

/// The monitor's alerts as `/metrics` gauges, from the newest run of each endpoint stage in the store (whoever ran
/// it: a schedule inside the server, or `sluice monitor run`). Read after each store poll; the runs are read again
/// only when their count changed.
public final class MonitorGauges: Sendable {
    let store: any MonitorStoring
    let metrics: ServingMetrics
    private let seenRuns = Mutex(-1)

    public init(store: any MonitorStoring, metrics: ServingMetrics) {
        self.store = store
        self.metrics = metrics
    }

    /// Sets the gauges from the newest runs, when a run was recorded since the last refresh.
    public func refresh() throws {
        let count = try store.monitorRunCount()
        guard seenRuns.withLock({ $0 != count }) else { return }
        // The count is marked seen only once the runs were read, so a failed read is tried again at the next poll.
        let runs = try store.latestMonitorRuns()
        seenRuns.withLock { $0 = count }
        for run in runs {
            let labels = [("endpoint", run.endpoint), ("stage", run.stage)]
            func set(_ name: String, _ help: String, _ value: Double) {
                metrics.setGauge(name, help: help, labels: labels, to: value)
            }
            set(
                "monitor_violations", "Constraint violations found by the newest monitoring run.",
                Double(run.violationCount))
            set(
                "monitor_drifted_features", "Features that drifted in the newest monitoring run.",
                Double(run.driftedCount))
            set(
                "monitor_dataset_drift", "1 when the newest monitoring run found dataset drift.",
                run.datasetDrift ? 1 : 0)
            set(
                "monitor_quality_violations", "Model-quality thresholds crossed in the newest monitoring run.",
                Double(run.qualityBreaches))
            let alert = run.violationCount > 0 || run.datasetDrift || run.qualityBreaches > 0
            set("monitor_alert", "1 when the newest monitoring run raised an alert.", alert ? 1 : 0)
            set("monitor_rows", "Captured rows the newest monitoring run analysed.", Double(run.rowCount))
            set("monitor_last_run_timestamp_seconds", "When the newest monitoring run's window ended.", run.windowEnd)
            for case let (metric, value?) in (run.report["quality"]?["metrics"]?.object ?? [:]).map({ ($0, $1.number) })
            {
                metrics.setGauge(
                    "monitor_quality", help: "Model-quality metrics of the newest monitoring run.",
                    labels: labels + [("metric", metric)], to: value)
            }
        }
    }
}
