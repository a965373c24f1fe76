public import ServiceLifecycle
public import SluiceCore

/// The monitoring schedules (`sluice monitor schedule`), run by the server when due: each due schedule analyses what
/// its endpoint stage captured since its last run and alerts its addresses on a violation, drift or a quality
/// threshold crossed. A schedule is due `every` after its last run (or after it was recorded); a window with no
/// traffic is not kept, so the next run covers it.
@MemberwiseInit
public struct MonitorScheduler: Service {
    let runner: MonitorRunner
    var clock: any WallClock = SystemWallClock()
    /// How often the schedules are read.
    var interval: Duration = .seconds(1)
    /// A window ends this many seconds before the run, so the capture writer has flushed every inference in it
    /// (it writes every 20 ms); a window never starts before the previous one ended, so nothing is skipped.
    var captureSettle: Double = 2
    /// Told each kept run's first line, each alert sent, and each failure.
    let report: @Sendable (String) -> Void

    public func run() async throws {
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
        let schedules: [(schedule: MonitorScheduleRecord, lastRunEnd: Double?)]
        do {
            schedules = try runner.store.monitorSchedules().map {
                ($0, try runner.store.monitorRuns(endpoint: $0.endpoint, stage: $0.stage, limit: 1).first?.windowEnd)
            }
        } catch {
            report("monitor: cannot read the schedules: \(error)")
            return
        }
        for (schedule, lastRunEnd) in schedules {
            let key = schedule.endpoint + "\u{0}" + schedule.stage
            let now = clock.now
            let since = max(lastRunEnd ?? schedule.createdAt, attempted[key] ?? 0)
            let end = now - captureSettle
            guard now >= since + schedule.everySeconds, end > (lastRunEnd ?? 0) else { continue }
            attempted[key] = now
            do {
                let outcome = try runner.run(
                    endpoint: schedule.endpoint, stage: schedule.stage, now: end,
                    quality: schedule.quality.flatMap(QualitySettings.init(stored:)), skipEmpty: true)
                guard outcome.run != nil else { continue }
                report("monitor: " + (outcome.summary.split(separator: "\n").first.map(String.init) ?? ""))
                if let destination = try await runner.alert(outcome, to: schedule.notify) {
                    report("monitor: alert sent to \(schedule.notify.joined(separator: ", ")): \(destination)")
                }
            } catch {
                report("monitor: \(schedule.endpoint) (\(schedule.stage)): \(error)")
            }
        }
    }
}
