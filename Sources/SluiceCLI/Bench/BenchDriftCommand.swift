import ArgumentParser
import Foundation
import SluiceCore
import SluiceML
import SluiceMonitor

/// `sluice-bench bench-drift`: times the monitor's report (constraint checks and per-column drift with Evidently's
/// default tests) of a current CSV file against a reference one, and prints the verdicts as one JSON line for
/// `scripts/bench-drift.py` to compare with Evidently's.
struct BenchDriftCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-drift",
        abstract: "Time the drift report of a current CSV file against a reference CSV file (one JSON line).")

    @Option(help: "The reference (baseline) data, CSV with a header.") var reference: String
    @Option(help: "The current data, CSV with a header and the same columns.") var current: String
    @Option(help: "Report runs (the best is printed).") var repeats: Int = 3

    func run() throws {
        let clock = ContinuousClock()
        var start = clock.now
        let referenceFrame = try CSVReader.read(path: reference)
        let currentFrame = try CSVReader.read(path: current)
        let load = clock.now - start
        start = clock.now
        let baseline = try Baseline(data: referenceFrame)
        let baselineTime = clock.now - start
        var best = Duration.seconds(1_000_000)
        var report: MonitoringReport?
        for _ in 0..<max(repeats, 1) {
            start = clock.now
            report = ConstraintChecker.check(
                current: currentFrame, constraints: baseline.constraints, reference: referenceFrame)
            best = min(best, clock.now - start)
        }
        guard let report else { return }
        func seconds(_ duration: Duration) -> JSONValue {
            .double(Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18)
        }
        let line: JSONValue = [
            "rows": .int(currentFrame.rowCount), "reference_rows": .int(referenceFrame.rowCount),
            "load_seconds": seconds(load), "baseline_seconds": seconds(baselineTime), "report_seconds": seconds(best),
            "dataset_drift": .bool(report.drift.drifted),
            "columns": .array(
                report.drift.columns.map {
                    [
                        "column": .string($0.column), "method": .string($0.method.rawValue), "value": .double($0.value),
                        "drifted": .bool($0.drifted),
                    ]
                }),
        ]
        print(line.canonicalJSON)
    }
}
