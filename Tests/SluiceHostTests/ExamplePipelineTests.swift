import Foundation
import SluiceCore
import SluiceStore
import Testing

/// The example pipelines that need a running server, through the binary as a user runs them: the test starts the
/// server (as `sluice serve` would) and decides the approvals.
@Suite struct ExamplePipelineTests {
    /// W2's staged pipeline on the first 500 rows of the abalone file: ETL, training and evaluation, dev serving the
    /// pending version, QA once the version and the deployment are approved, QA's endpoint test over HTTP, then
    /// production behind its own approval, serving the approved version.
    @Test func abaloneStagedGoesDevQAProductionBehindItsApprovals() async throws {
        let scratch = try Scratch()
        let rows = try String(contentsOfFile: DemoTests.examples + "/w2-abalone/data/abalone.csv", encoding: .utf8)
            .split(separator: "\n")
        try scratch.write("abalone.csv", rows.prefix(500).joined(separator: "\n") + "\n")
        let row = "0.455,0.365,0.095,0.514,0.2245,0.101,0.15,0,0,1"  // seven measures, then sex one-hot (F, I, M)
        try await withHostedServer(home: scratch.home, workingDirectory: scratch.folder) { base, _, _ in
            let environment = ["SLUICE_SERVE_URL": base.absoluteString]
            let run = try SluiceRun(
                [
                    "run", DemoTests.examples + "/w2-abalone/staged-pipeline.yaml", "-p",
                    "InputData=\(scratch.folder)/abalone.csv", "-p", "RmseThreshold=100",
                ], in: scratch, environment: environment)
            let token = /sluice approve (sl-[0-9a-f]+)/

            let training = try await run.wait(for: token, count: 1, seconds: 60)
            #expect(try await SluiceRun.finished(["approve", training[0]], in: scratch).0 == 0)

            // Dev serves the registered, still pending, version; QA waits for a person.
            let qa = try await run.wait(for: token, count: 2, seconds: 180)
            let store = try SQLiteStore(path: scratch.home + "/sluice.db")
            let version = try #require(try store.latestModelVersion(group: "AbalonePackageGroup", status: nil))
            #expect(version.status == .pendingManualApproval && version.version == 1)
            let dev = try await Self.invoke(base, "/endpoints/abalone-dev/dev/invocations", row)
            #expect(dev.status == 200, "\(dev.body)")
            let devAnswer = try #require(Double(dev.body.trimmingCharacters(in: .whitespacesAndNewlines)))
            #expect(run.output.contains("sluice models approve AbalonePackageGroup/1"), "\(run.output)")
            let (approved, message) = try await SluiceRun.finished(
                ["models", "approve", "AbalonePackageGroup/1", "--reason", "dev looks right"], in: scratch)
            #expect(approved == 0, "\(message)")
            #expect(try await SluiceRun.finished(["approve", qa[1]], in: scratch).0 == 0)

            // QA deployed and tested over HTTP with the test split; production waits for its approval.
            let production = try await run.wait(for: token, count: 3, seconds: 60)
            #expect(try await SluiceRun.finished(["approve", production[2]], in: scratch).0 == 0)
            await waitForExit(run.process)
            #expect(run.process.terminationStatus == 0, "\(run.output)")
            #expect(
                run.output.contains("Deploy Production: deployed AbalonePackageGroup/1 to abalone-prod (prod)"),
                "\(run.output)")

            let execution = try #require(try store.executions(limit: 1).first)
            let test = try #require(try store.steps(executionID: execution.id).first { $0.name == "Test QA" })
            let outputs = try #require(test.outputs)
            #expect(outputs["Errors"] == .int(0) && (outputs["Count"]?.number ?? 0) >= 1, "\(outputs)")
            let report = try JSONDecoder().decode(
                JSONValue.self,
                from: try Data(contentsOf: URL(fileURLWithPath: try #require(outputs["Report"]?.string))))
            #expect(report["EndpointUrl"]?.string == "\(base.absoluteString)/endpoints/abalone-qa/qa/invocations")
            let rmse = try #require(report["regression_metrics"]?["rmse"]?["value"]?.number)
            #expect(rmse > 0 && rmse == outputs["MetricValue"]?.number)
            #expect((report["LatencyMeanMs"]?.number ?? 0) > 0)

            // Production serves the approved version: the same answer as dev for the same row.
            let served = try await Self.invoke(base, "/endpoints/abalone-prod/prod/invocations", row)
            #expect(served.status == 200, "\(served.body)")
            #expect(Double(served.body.trimmingCharacters(in: .whitespacesAndNewlines)) == devAnswer)
            #expect(try store.latestModelVersion(group: "AbalonePackageGroup", status: .approved)?.version == 1)
        }
    }

    /// POSTs one CSV row, waiting (up to 5 s) while the server has not picked up a fresh deployment (404).
    static func invoke(_ base: URL, _ path: String, _ row: String) async throws -> Reply {
        var reply = try await send(base, path, method: "POST", body: row, contentType: "text/csv")
        for _ in 0..<100 where reply.status == 404 {
            try await Task.sleep(nanoseconds: 50_000_000)
            reply = try await send(base, path, method: "POST", body: row, contentType: "text/csv")
        }
        return reply
    }
}
