import Foundation
import SluiceCore
import SluiceStore
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// Monitoring inside `sluice serve`, through the binary: W1 trained (its `monitor.baseline` step attaches the
/// baseline), deployed with capture, shifted traffic, ground truth posted to the server, then a schedule recorded
/// while the server runs: the server runs it when due, alerts once, and shows the alert on `/metrics`.
@Suite struct MonitorScheduleTests {
    func metrics(_ port: Int) async throws -> String {
        let (data, _) = try await httpSession.data(from: URL(string: "http://127.0.0.1:\(port)/metrics")!)
        return String(decoding: data, as: UTF8.self)
    }

    /// The value of the series `name{labels}` in a Prometheus exposition.
    func gauge(_ text: String, _ series: String) -> Double? {
        text.split(separator: "\n").first { $0.hasPrefix(series + " ") }
            .flatMap { Double($0.dropFirst(series.count + 1).trimmingCharacters(in: .whitespaces)) }
    }

    @Test func theServerRunsADueScheduleJoiningGroundTruthAndAlertsOnceOnMetricsAndByMail() async throws {
        let monitored = try await MonitoredDiabetes.trained()
        defer { monitored.remove() }
        let sandbox = monitored.sandbox
        let data = MonitoredDiabetes.data
        // The pipeline's Baseline step attached the training rows' baseline to the version it registered.
        let baseline = try #require(try sandbox.store.monitorBaseline(group: "DiabetesModelGroup", version: 1))
        #expect(baseline.features == ["bmi"])

        let lines = try String(contentsOfFile: data, encoding: .utf8).split(separator: "\n")
        let header = lines[0].split(separator: ",")
        let bmiIndex = try #require(header.firstIndex(of: "bmi"))
        let targetIndex = try #require(header.firstIndex(of: "target"))
        let rows = lines.dropFirst().map { $0.split(separator: ",") }
        let bmi = rows.map { Double($0[bmiIndex])! + 0.05 }
        let target = rows.map { Double($0[targetIndex])! }

        let key = try await monitored.deploy()
        let (server, port) = try await monitored.serve()
        defer { if server.process.isRunning { kill(server.process.processIdentifier, SIGKILL) } }

        // Shifted traffic in batches of 50; each answer names the inference its ground truth is sent with.
        var labels: [String] = []
        var errors: [Double] = []
        for start in stride(from: 0, to: bmi.count, by: 50) {
            let range = start..<min(start + 50, bmi.count)
            let body = "{\"x\": [\(range.map { "[\(bmi[$0])]" }.joined(separator: ","))]}"
            let named = start == 0 ? ["X-Amzn-SageMaker-Inference-Id": "first-batch"] : [:]
            let answer = try await post(
                port, "/endpoints/diabetes/production/batch", body, key: key, headers: named)
            #expect(answer.status == 200, "\(answer.body)")
            let id = try #require(answer.inferenceId)
            if start == 0 { #expect(id == "first-batch") }
            let predictions = try #require(
                try JSONDecoder().decode(JSONValue.self, from: Data(answer.body.utf8)).array?.compactMap {
                    $0.array?.first?.number
                })
            #expect(predictions.count == range.count)
            errors += zip(predictions, range.map { target[$0] }).map { abs($0 - $1) }
            labels.append(
                "{\"inferenceId\": \"\(id)\", \"label\": [\(range.map { String(target[$0]) }.joined(separator: ","))]}")
        }
        let truth = try await post(
            port, "/endpoints/diabetes/ground-truth", "{\"labels\": [\(labels.joined(separator: ","))]}", key: key)
        #expect(truth.status == 200, "\(truth.body)")
        #expect(truth.body.contains("\"accepted\":\(labels.count)"), "\(truth.body)")

        // Bad ground truth is refused with what was wrong; it does not take the server down.
        let missingID = try await post(
            port, "/endpoints/diabetes/ground-truth", "{\"labels\": [{\"label\": 3}]}", key: key)
        #expect(missingID.status == 400 && missingID.body.contains("labels[0].inferenceId"), "\(missingID.body)")
        let unknown = try await post(port, "/endpoints/nope/ground-truth", "{\"labels\": []}", key: key)
        #expect(unknown.status == 404 && unknown.body.contains("nope"), "\(unknown.body)")
        let noKey = try await post(port, "/endpoints/diabetes/ground-truth", "{\"labels\": []}", key: nil)
        #expect(noKey.status == 401)

        #expect(await eventually(within: 30) { monitored.capturedLines() == labels.count })

        // Recorded while the server runs: it picks the schedule up and runs it when due, 3 s later, over a window
        // ending 2 s before the run (capture settles), so after all the traffic above.
        let scheduled = try await sandbox.running([
            "monitor", "schedule", "diabetes", "--every", "PT3S", "--notify", "ds@example.com", "--problem",
            "Regression", "--threshold", "mae>1", "r2<-100",
        ])
        #expect(scheduled.status == 0, "\(scheduled.err)")
        #expect(scheduled.out.contains("model quality (Regression: mae>1.0, r2<-100.0)"), "\(scheduled.out)")
        #expect(await eventually(within: 60) { !monitored.mails().isEmpty }, "\(server.output())")

        let shown = try await sandbox.running(["monitor", "show", "diabetes", "--format", "json"])
        let runs = try JSONDecoder().decode(JSONValue.self, from: Data(shown.out.utf8)).array ?? []
        let run = try #require(runs.first, "\(shown.out)")
        #expect(run["rows"]?.number == Double(bmi.count))
        #expect(run["qualityViolations"]?.number == 1)
        let quality = try #require(run["report"]?["quality"])
        #expect(quality["pairCount"]?.number == Double(bmi.count))
        #expect(quality["unlabelled"]?.number == 0)
        let mae = try #require(quality["metrics"]?["mae"]?.number)
        #expect(abs(mae - errors.reduce(0, +) / Double(errors.count)) < 1e-9)
        let violations = run["report"]?["violations"]?["violations"]?.array ?? []
        #expect(violations.contains { $0["constraint_check_type"]?.string == "baseline_drift_check" }, "\(run)")
        // `monitor list` shows the schedule and the same run.
        let listed = try JSONDecoder().decode(
            JSONValue.self, from: Data(try await sandbox.running(["monitor", "list", "--format", "json"]).out.utf8))
        #expect(listed["schedules"]?.array?.first?["everySeconds"]?.number == 3, "\(listed)")
        #expect(listed["schedules"]?.array?.first?["notify"] == ["ds@example.com"], "\(listed)")
        #expect(listed["runs"]?.array?.compactMap { $0["id"]?.string } == [run["id"]?.string].compactMap { $0 })
        let folder = try #require(run["folder"]?.string)
        let qualityFile = try JSONDecoder().decode(
            JSONValue.self,
            from: Data(contentsOf: URL(fileURLWithPath: folder + "/model_quality_violations.json")))
        #expect(qualityFile["violations"]?.array?.compactMap { $0["metric_name"]?.string } == ["mae"])

        // The alert on /metrics, from the store, after the server's next poll.
        let labelsText = "{endpoint=\"diabetes\",stage=\"production\"}"
        var exposition = ""
        #expect(
            try await eventually(within: 30) {
                exposition = try await metrics(port)
                return gauge(exposition, "sluice_monitor_alert" + labelsText) == 1
            }, "\(exposition)")
        #expect(gauge(exposition, "sluice_monitor_quality_violations" + labelsText) == 1)
        #expect((gauge(exposition, "sluice_monitor_violations" + labelsText) ?? 0) >= 1)
        #expect(gauge(exposition, "sluice_monitor_rows" + labelsText) == Double(bmi.count))
        let drifted = try #require(run["driftedFeatures"]?.number)
        #expect(drifted == 1 && gauge(exposition, "sluice_monitor_drifted_features" + labelsText) == drifted)
        let datasetDrift: Double = run["datasetDrift"] == true ? 1 : 0
        #expect(gauge(exposition, "sluice_monitor_dataset_drift" + labelsText) == datasetDrift)
        let windowEnd = try #require(run["windowEnd"]?.number)
        let lastRun = gauge(exposition, "sluice_monitor_last_run_timestamp_seconds" + labelsText)
        #expect(lastRun.map { abs($0 - windowEnd) < 1e-3 } == true, "\(exposition)")
        let maeGauge = gauge(
            exposition, "sluice_monitor_quality{endpoint=\"diabetes\",stage=\"production\",metric=\"mae\"}")
        #expect(maeGauge.map { abs($0 - mae) < 1e-6 } == true, "\(exposition)")

        // Later windows (one more period) hold no traffic: they are not kept and alert no one again.
        try await Task.sleep(for: .seconds(3.5))
        let mails = monitored.mails()
        #expect(mails.count == 1)
        let mail = mails.first ?? ""
        #expect(mail.contains("ds@example.com") && mail.contains("mae") && mail.contains("bmi"), "\(mail)")
        await monitored.stop(server)
    }
}
