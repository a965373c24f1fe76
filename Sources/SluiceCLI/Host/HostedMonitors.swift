import ServiceLifecycle
import SluiceCore
import SluiceStore

/// The monitoring schedules (`sluice monitor schedule`), run by the server when due: each due schedule analyses what
/// its endpoint stage captured since its last run and alerts its addresses on a violation, drift or a quality
/// threshold crossed. A schedule is due `every` after its last run (or after it was recorded); a window with no
/// traffic is not kept, so the next run covers it.
struct HostedMonitors: Service {
    let runner: MonitorRunner
    let clock: any WallClock
    /// How often the schedules are read.
    let interval: Duration
    /// A window ends this many seconds before the run, so the capture writer has flushed every inference in it
    /// (it writes every 20 ms); a window never starts before the previous one ended, so nothing is skipped.
    let captureSettle: Double
    let report: @Sendable (String) -> Void

    init(
        runner: MonitorRunner, clock: any WallClock = SystemWallClock(), interval: Duration = .seconds(1),
        captureSettle: Double = 2, report: @escaping @Sendable (String) -> Void
    ) {
        self.runner = runner
        self.clock = clock
        self.interval = interval
        self.captureSettle = captureSettle
        self.report = report
    }

    func run() async throws {
        await cancelWhenGracefulShutdown {
            var attempted: [String: Double] = [:]
            while !Task.isCancelled {
                await runDue(attempted: &attempted)
                try? await Task.sleep(for: interval)
            }
        }
    }

    /// Runs the schedules due now.
    /// - Parameter attempted: when each schedule was last tried (a run not kept, or one that failed, waits a period).
    func runDue(attempted: inout [String: Double]) async {
        let schedules: [MonitorScheduleRecordView]
        do {
            schedules = try runner.store.monitorSchedules().map {
                let last = try runner.store.monitorRuns(endpoint: $0.endpoint, stage: $0.stage, limit: 1).first
                return MonitorScheduleRecordView(schedule: $0, lastRunEnd: last?.windowEnd)
            }
        } catch {
            report("monitor: cannot read the schedules: \(error)")
            return
        }
        for view in schedules {
            let schedule = view.schedule
            let key = schedule.endpoint + "\u{0}" + schedule.stage
            let now = clock.now
            let since = max(view.lastRunEnd ?? schedule.createdAt, attempted[key] ?? 0)
            let end = now - captureSettle
            guard now >= since + schedule.everySeconds, end > (view.lastRunEnd ?? 0) else { continue }
            attempted[key] = now
            do {
                let outcome = try runner.run(
                    endpoint: schedule.endpoint, stage: schedule.stage, now: end,
                    quality: schedule.quality.flatMap(QualityOptions.decode), skipEmpty: true)
                guard outcome.recorded else { continue }
                report("monitor: " + (outcome.summary.split(separator: "\n").first.map(String.init) ?? ""))
                if outcome.needsAlert && !schedule.notify.isEmpty {
                    let destination = try await runner.alert(outcome, to: schedule.notify)
                    report("monitor: alert sent to \(schedule.notify.joined(separator: ", ")): \(destination)")
                }
            } catch {
                report("monitor: \(schedule.endpoint) (\(schedule.stage)): \(error)")
            }
        }
    }
}

/// A schedule and the end of its newest run's window.
private struct MonitorScheduleRecordView {
    var schedule: MonitorScheduleRecord
    var lastRunEnd: Double?
}
