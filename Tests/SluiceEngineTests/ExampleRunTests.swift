import Foundation
import SluiceCore
import SluiceStore
import Testing

/// W2 and W3 through the real binary, as a user runs them.
@Suite(.serialized) struct ExampleRunTests {
    static let examples = RegistryProcessTests.examples

    /// W2 on the first 350 rows of the UCI abalone file (the whole file trains for half a minute in a debug build):
    /// split, preprocess, MLP with string hyperparameters, evaluate, then each branch of the MSE gate.
    @Test func abalonePipelineRegistersOrFailsOnTheMSEGate() throws {
        let sandbox = try Sandbox()
        let full = try String(contentsOfFile: Self.examples + "/w2-abalone/data/abalone.csv", encoding: .utf8)
        let rows = full.split(separator: "\n")
        #expect(rows.count == 4_177)
        try sandbox.write("abalone.csv", rows.prefix(350).joined(separator: "\n") + "\n")
        let pipeline = Self.examples + "/w2-abalone/pipeline.yaml"
        let data = "InputData=\(sandbox.folder)/abalone.csv"

        let (status, output) = try sandbox.run(["run", pipeline, "-p", data, "-p", "MseThreshold=1000"])
        #expect(status == 0, "\(output)")
        let store = try SQLiteStore(path: sandbox.home + "/sluice.db")
        let registered = try #require(try store.latestModelVersion(group: "AbalonePackageGroup", status: .approved))
        let metrics = try #require(registered.metrics?["regression_metrics"])
        let mse = try #require(metrics[path: [.key("mse"), .key("value")]]?.number)
        let rmse = try #require(metrics[path: [.key("rmse"), .key("value")]]?.number)
        #expect(mse > 0 && abs(rmse * rmse - mse) < 1e-9)
        #expect(metrics[path: [.key("standard_deviation"), .key("value")]]?.number != nil)
        // The model carries its transforms: raw rows (sex as text) are what it takes.
        let model = try String(contentsOfFile: registered.artifactPath, encoding: .utf8)
        #expect(model.contains("\"inputColumns\":[\"sex\",\"length\""))

        // A whole Float keeps its point in the message, as SageMaker's Join prints it, after the store's round trip.
        let (failed, failure) = try sandbox.run(["run", pipeline, "-p", data, "-p", "MseThreshold=1"])
        #expect(failed != 0)
        #expect(failure.contains("Execution failed due to MSE greater than 1.0\n"), "\(failure)")
        #expect(try store.modelVersions(group: "AbalonePackageGroup").count == 1)
    }

    /// W3's training path on the synthetic loans file: features, stratified split, random forest of 5 trees with
    /// oversampling, model-metrics.json, then the execution waits until `sluice approve TOKEN` and registers.
    @Test func creditRiskWaitsForApprovalThenRegisters() throws {
        let sandbox = try Sandbox()
        let store = try Self.runApprovingOnce(sandbox, Self.examples + "/w3-credit-risk/training-pipeline.yaml")
        let registered = try #require(try store.latestModelVersion(group: "CreditRiskModelGroup", status: .approved))
        let metrics = try #require(registered.metrics)
        for key in ["accuracy_score", "precision_score", "recall_score"] {
            let value = try #require(metrics[key]?.number, "\(key) in \(metrics)")
            #expect(value > 0 && value <= 1, "\(key)")
        }
        #expect(metrics["accuracy_score"]!.number! > 0.6)
    }

    /// Starts `sluice run PIPELINE`, checks nothing is registered while it waits at its approval, approves with the
    /// printed token, and expects a successful end; returns the sandbox's store.
    static func runApprovingOnce(_ sandbox: Sandbox, _ pipeline: String) throws -> SQLiteStore {
        let log = "\(sandbox.folder)/run.log"
        let run = sandbox.process(["run", pipeline], output: log)
        try run.run()
        var token: String?
        for _ in 0..<600 where token == nil {
            usleep(50_000)
            let text = String(decoding: FileManager.default.contents(atPath: log) ?? Data(), as: UTF8.self)
            token = text.split(separator: "\n").first { $0.contains("sluice approve ") }
                .map { String($0.split(separator: " ").last!) }
        }
        let approval = try #require(token)
        let store = try SQLiteStore(path: sandbox.home + "/sluice.db")
        #expect(try store.modelVersions(group: "CreditRiskModelGroup").isEmpty)
        let (approved, message) = try sandbox.run(["approve", approval])
        #expect(approved == 0, "\(message)")
        run.waitUntilExit()
        let output = String(decoding: FileManager.default.contents(atPath: log) ?? Data(), as: UTF8.self)
        #expect(run.terminationStatus == 0, "\(output)")
        return store
    }

    /// The whole of W3: features ingested into the feature group (latest record per id online), training, approval,
    /// registration, the endpoint, then the endpoint's link in the outbox (no `SLUICE_SMTP` in the test).
    @Test func fullCreditRiskPipelineIngestsFeaturesDeploysAndNotifies() throws {
        let sandbox = try Sandbox()
        let store = try Self.runApprovingOnce(sandbox, Self.examples + "/w3-credit-risk/pipeline.yaml")
        let registered = try #require(try store.latestModelVersion(group: "CreditRiskModelGroup", status: .approved))
        #expect(registered.version == 1)

        // Every loan is one record; the online read of an id is its most recent loan.
        let loans = try String(
            contentsOfFile: Self.examples + "/w3-credit-risk/data/synthetic_credit_risk.csv", encoding: .utf8
        ).split(separator: "\n").dropFirst().map { $0.split(separator: ",", omittingEmptySubsequences: false) }
        var latestLoan: [Substring: Substring] = [:]
        for loan in loans { latestLoan[loan[0]] = max(latestLoan[loan[0]] ?? "", loan[1]) }
        let repeated = try #require(latestLoan.keys.first { id in loans.filter { $0[0] == id }.count > 1 })
        let (listed, list) = try sandbox.run(["features", "list", "--format", "json"])
        #expect(listed == 0, "\(list)")
        let groups = try JSONDecoder().decode(JSONValue.self, from: Data(list.utf8))
        let group = try #require(groups.array?.first)
        #expect(group["name"] == "mlops_credit_cards_risk" && group["records"] == .int(loans.count), "\(list)")
        #expect(group["recordIdentifier"] == "id" && group["eventTime"] == "loan_date" && group["onlineStore"] == true)
        let (got, record) = try sandbox.run([
            "features", "get", "mlops_credit_cards_risk", String(repeated), "--format", "json",
        ])
        #expect(got == 0, "\(record)")
        let latest = try JSONDecoder().decode(JSONValue.self, from: Data(record.utf8))
        #expect(latest["eventTime"] == .string(String(latestLoan[repeated]!)), "\(record)")
        #expect(latest["features"]?["nb_previous_loans"]?.number ?? 0 >= 1, "\(record)")
        // The point-in-time read: one record per id that had a loan by then, each its latest up to that day.
        let (read, asOf) = try sandbox.run(
            ["features", "records", "mlops_credit_cards_risk", "--as-of", "2018-06-30", "--format", "json"])
        #expect(read == 0, "\(asOf)")
        let records = try #require(try JSONDecoder().decode(JSONValue.self, from: Data(asOf.utf8)).array)
        var latestThen: [Substring: Substring] = [:]
        for loan in loans where loan[1] <= "2018-06-30" {
            latestThen[loan[0]] = max(latestThen[loan[0]] ?? "", loan[1])
        }
        #expect(records.count == latestThen.count && !records.isEmpty)
        for record in records {
            let id = Substring(record["recordIdentifier"]?.string ?? "")
            let expected: String? = latestThen[id].map(String.init)
            #expect(record["eventTime"]?.string == expected, "\(record)")
        }
        let (unknown, refusal) = try sandbox.run(["features", "get", "mlops_credit_cards_risk", "no-such-id"])
        #expect(unknown != 0 && refusal.contains("has no record with id 'no-such-id'"), "\(refusal)")

        // Two messages went out: the approval link to the Approval step's `Notify` list, then the endpoint's link.
        let outbox = sandbox.home + "/outbox"
        let files = try FileManager.default.contentsOfDirectory(atPath: outbox).filter { $0.hasSuffix(".eml") }
        let mails = try files.map { try String(contentsOfFile: outbox + "/" + $0, encoding: .utf8) }
        #expect(mails.count == 2, "\(files)")
        let approval = try #require(mails.first { $0.contains("Subject: Approval needed: Approve Model") })
        #expect(approval.contains("To: risk-team@example.com\r\n"), "\(approval)")
        #expect(approval.contains("/approvals/sl-") && approval.contains("sluice approve sl-"), "\(approval)")
        let mail = try #require(mails.first { $0.contains("Subject: Credit risk endpoint ready") })
        #expect(mail.contains("To: risk-team@example.com\r\n"), "\(mail)")
        #expect(
            mail.contains("Subject: Credit risk endpoint ready: http://")
                && mail.contains("/endpoints/credit-risk/prod"))
    }
}
