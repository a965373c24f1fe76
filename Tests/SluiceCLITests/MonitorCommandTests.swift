import Foundation
import SluiceCore
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// `sluice monitor` end to end through the binary: W1 trained and deployed, a baseline from its training rows,
/// traffic captured by `sluice serve`, monitoring runs and the alert in the outbox.
@Suite struct MonitorCommandTests {
    /// POSTs `rows` of bmi to `/batch` in chunks of 50.
    func send(_ rows: [Double], port: Int, key: String) async throws {
        for start in stride(from: 0, to: rows.count, by: 50) {
            let chunk = rows[start..<min(start + 50, rows.count)].map { "[\($0)]" }.joined(separator: ",")
            let answer = try await post(port, "/endpoints/diabetes/production/batch", "{\"x\": [\(chunk)]}", key: key)
            #expect(answer.status == 200, "\(answer.body)")
        }
    }

    @Test func shiftedBMIIsABaselineDriftViolationWithAnAlertAndUnshiftedTrafficIsNot() async throws {
        let monitored = try await MonitoredDiabetes.trained()
        defer { monitored.remove() }
        let sandbox = monitored.sandbox
        let data = MonitoredDiabetes.data

        // The training rows, as W1's Preprocess splits them: the first 422.
        let lines = try String(contentsOfFile: data, encoding: .utf8).split(separator: "\n")
        let training = sandbox.folder + "/train.csv"
        try (lines[0...422].joined(separator: "\n") + "\n").write(toFile: training, atomically: true, encoding: .utf8)
        let bmiIndex = try #require(lines[0].split(separator: ",").firstIndex(of: "bmi"))
        let bmi = lines.dropFirst().map { Double($0.split(separator: ",")[bmiIndex])! }

        let baseline = try await sandbox.running(["monitor", "baseline", "DiabetesModelGroup/1", "--data", training])
        #expect(baseline.status == 0, "\(baseline.err)")
        let folder = sandbox.homePath + "/monitoring/baselines/DiabetesModelGroup/1"
        let statistics = try JSONDecoder().decode(
            JSONValue.self, from: Data(contentsOf: URL(fileURLWithPath: folder + "/statistics.json")))
        #expect(statistics["dataset"]?["item_count"]?.number == 422)
        #expect(statistics["features"]?.array?.compactMap { $0["name"]?.string } == ["bmi"])
        #expect(statistics["features"]?.array?.first?["inferred_type"]?.string == "Fractional")
        let mean = try #require(statistics["features"]?.array?.first?["numerical_statistics"]?["mean"]?.number)
        #expect(abs(mean - bmi.prefix(422).reduce(0, +) / 422) < 1e-12)
        let constraints = try JSONDecoder().decode(
            JSONValue.self, from: Data(contentsOf: URL(fileURLWithPath: folder + "/constraints.json")))
        #expect(constraints["features"]?.array?.first?["completeness"]?.number == 1)
        #expect(constraints["monitoring_config"]?["evaluate_constraints"]?.string == "Enabled")

        let key = try await monitored.deploy()
        #expect(
            try await sandbox.running([
                "monitor", "schedule", "diabetes", "--every", "PT1H", "--notify", "ds@example.com",
            ])
            .status == 0)
        let (server, port) = try await monitored.serve()
        defer { if server.process.isRunning { kill(server.process.processIdentifier, SIGKILL) } }

        // Unshifted traffic: every row's bmi, as it was.
        try await send(bmi, port: port, key: key)
        #expect(await eventually(within: 30) { monitored.capturedLines() == 9 })
        let calm = try await sandbox.running(["monitor", "run", "diabetes", "--format", "json"])
        #expect(calm.status == 0, "\(calm.err)")
        let calmViolations = try JSONDecoder().decode(JSONValue.self, from: Data(calm.out.utf8))
        #expect(calmViolations["violations"]?.array == [], "\(calm.out)")
        #expect(monitored.mails().isEmpty)

        // bmi shifted by +0.05: only these rows are analysed by the next run.
        try await send(bmi.map { $0 + 0.05 }, port: port, key: key)
        #expect(await eventually(within: 30) { monitored.capturedLines() == 18 })
        let drifted = try await sandbox.running(["monitor", "run", "diabetes", "--format", "json"])
        #expect(drifted.status == 0, "\(drifted.err)")
        let violations = try JSONDecoder().decode(JSONValue.self, from: Data(drifted.out.utf8))["violations"]?.array
        let drift = violations?.first { $0["constraint_check_type"]?.string == "baseline_drift_check" }
        #expect(drift?["feature_name"]?.string == "bmi", "\(drifted.out)")
        let mails = monitored.mails()
        #expect(mails.count == 1 && mails[0].contains("ds@example.com") && mails[0].contains("bmi"))

        // Both runs are kept in the store and as files, each with its own window.
        let shown = try await sandbox.running(["monitor", "show", "diabetes", "--format", "json"])
        let runs = try JSONDecoder().decode(JSONValue.self, from: Data(shown.out.utf8)).array ?? []
        #expect(runs.compactMap { $0["rows"]?.number } == [442, 442])
        #expect(runs.compactMap { $0["violations"]?.number }.first == 1)
        for run in runs {
            let file = (run["folder"]?.string ?? "") + "/constraint_violations.json"
            #expect(FileManager.default.fileExists(atPath: file), "\(file)")
        }
        await monitored.stop(server)
    }
}
