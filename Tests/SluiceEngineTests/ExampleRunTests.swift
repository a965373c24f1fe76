import Foundation
import SluiceCore
import SluiceML
import SluiceStore
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

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
        // The Baseline step attached the raw training split's baseline: the request's columns, sex among them.
        let baseline = try #require(
            try store.monitorBaseline(group: "AbalonePackageGroup", version: registered.version))
        #expect(baseline.features.first == "sex" && baseline.features.count == 8, "\(baseline.features)")

        // A whole Float keeps its point in the message, as SageMaker's Join prints it, after the store's round trip.
        let (failed, failure) = try sandbox.run(["run", pipeline, "-p", data, "-p", "MseThreshold=1"])
        #expect(failed != 0)
        #expect(failure.contains("Execution failed due to MSE greater than 1.0\n"), "\(failure)")
        #expect(!failure.contains("sluice retry"), "a retry of a Fail step only fails again: \(failure)")
        #expect(try store.modelVersions(group: "AbalonePackageGroup").count == 1)
    }

    /// W1's batch pipeline after W1 registered a version: every CSV file of the input folder (with a header `x` or
    /// without one) gets `<file>.out` with one prediction per row, equal to the registered model's `w·x + b`.
    @Test func diabetesBatchPredictsEveryCSVFileOfItsFolder() throws {
        let sandbox = try Sandbox()
        let (trained, training) = try sandbox.run(["run", Self.examples + "/w1-diabetes/pipeline.yaml"])
        #expect(trained == 0, "\(training)")
        try FileManager.default.createDirectory(atPath: sandbox.folder + "/in", withIntermediateDirectories: true)
        let files = ["in/with-header.csv": "x\n0.3\n-0.05\n0.1\n", "in/no-header.csv": "0.3\n0.02\n"]
        for (name, text) in files { try sandbox.write(name, text) }
        try sandbox.write("in/notes.txt", "not a CSV file\n")

        let (status, output) = try sandbox.run([
            "run", Self.examples + "/w1-diabetes/batch-pipeline.yaml", "-p", "InputFolder=\(sandbox.folder)/in", "-p",
            "OutputFolder=\(sandbox.folder)/out",
        ])
        #expect(status == 0, "\(output)")
        let store = try SQLiteStore(path: sandbox.home + "/sluice.db")
        let registered = try #require(try store.latestModelVersion(group: "DiabetesModelGroup", status: .approved))
        let model = try JSONDecoder().decode(
            JSONValue.self, from: try Data(contentsOf: URL(fileURLWithPath: registered.artifactPath)))
        let weight = try #require(model["linear"]?["coefficients"]?.array?.first?.number)
        let intercept = try #require(model["linear"]?["intercept"]?.number)
        #expect(abs(weight * 0.3 + intercept - 434.0766) < 0.001)
        for (name, text) in files {
            let inputs = text.split(separator: "\n").compactMap { Double($0) }
            let out = sandbox.folder + "/out/" + (name as NSString).lastPathComponent + ".out"
            let predictions = try String(contentsOfFile: out, encoding: .utf8).split(separator: "\n").map {
                Double($0)
            }
            #expect(predictions.count == inputs.count, "\(out)")
            for (x, prediction) in zip(inputs, predictions) {
                #expect(abs((prediction ?? .nan) - (weight * x + intercept)) < 1e-9, "\(out): x = \(x)")
            }
        }
        #expect(!FileManager.default.fileExists(atPath: sandbox.folder + "/out/notes.txt.out"))
    }

    /// A batch run over a folder that does not exist fails at once, naming the folder, without retrying.
    @Test func diabetesBatchNamesAMissingFolderAndDoesNotRetry() throws {
        let sandbox = try Sandbox()
        let (trained, training) = try sandbox.run(["run", Self.examples + "/w1-diabetes/pipeline.yaml"])
        #expect(trained == 0, "\(training)")
        let missing = sandbox.folder + "/no-such-folder"
        let (status, output) = try sandbox.run([
            "run", Self.examples + "/w1-diabetes/batch-pipeline.yaml", "-p", "InputFolder=\(missing)", "-p",
            "OutputFolder=\(sandbox.folder)/out",
        ])
        #expect(status != 0)
        #expect(output.contains("\(missing) does not exist; create it or pass another folder"), "\(output)")
        let store = try SQLiteStore(path: sandbox.home + "/sluice.db")
        let execution = try #require(try store.executions(limit: 1).first)
        let step = try #require(try store.steps(executionID: execution.id).first { $0.name == "Predict Files" })
        #expect(step.status == .failed && step.attempt == 1, "\(step)")
        #expect(step.error?.error == "Sluice.MapItems")
    }

    /// A W1 run ends with what it produced: the metrics, the registered version; then, with the same inputs, that the
    /// cache hit on Register made no new version; then, with a threshold above R², that the gate was not met.
    @Test func diabetesRunSaysWhatItProduced() throws {
        let sandbox = try Sandbox()
        let pipeline = Self.examples + "/w1-diabetes/pipeline.yaml"
        let (first, registered) = try sandbox.run(["run", pipeline])
        #expect(first == 0, "\(registered)")
        #expect(registered.contains("  Register: registered DiabetesModelGroup/1\n"), "\(registered)")
        let r2 = try #require(registered.firstMatch(of: #/  Evaluate: .*r2 ([0-9.]+)/#)?.output.1)
        #expect((0.46...0.48).contains(Double(r2) ?? 0), "\(registered)")

        let (second, cached) = try sandbox.run(["run", pipeline])
        #expect(second == 0, "\(cached)")
        #expect(cached.contains("  Register: cache hit, no new version registered (DiabetesModelGroup/1"), "\(cached)")

        let (third, gated) = try sandbox.run(["run", pipeline, "-p", "R2Threshold=0.9"])
        #expect(third == 0, "\(gated)")
        #expect(gated.contains("  Check R2: condition not met, so Register did not run\n"), "\(gated)")
        // The Baseline step after Register is skipped with it.
        #expect(gated.contains("– Baseline  skipped"), "\(gated)")
        let store = try SQLiteStore(path: sandbox.home + "/sluice.db")
        #expect(try store.modelVersions(group: "DiabetesModelGroup").count == 1)
    }

    /// The retry hint appears where a retry can succeed (a step that failed) and not after a Fail step or a rejection,
    /// which a retry would only repeat.
    @Test func retryHintOnlyWhereARetryCanSucceed() throws {
        let sandbox = try Sandbox()
        try sandbox.write(
            "flaky.yaml",
            """
            name: Flaky
            steps:
              - {name: Break, module: Breaks}
            """)
        try sandbox.write(
            "breaks.yaml",
            """
            name: Breaks
            implementation: {builtin: fail, options: {message: the disk was full}}
            """)
        let (failed, failure) = try sandbox.run(["run", "flaky.yaml"])
        #expect(failed != 0 && failure.contains("the disk was full"), "\(failure)")
        #expect(failure.contains("retry from the failed step:  sluice retry "), "\(failure)")

        try FileManager.default.createDirectory(atPath: sandbox.folder + "/gate", withIntermediateDirectories: true)
        try sandbox.write(
            "gate/gate.yaml",
            """
            name: Gate
            steps:
              - name: Check
                type: Condition
                condition: $.parameters.Size > 3
                then: [Too Big]
                else: [Ask]
              - name: Too Big
                type: Fail
                message: size {parameters.Size} is above 3
              - name: Ask
                type: Approval
                message: Ship it?
            parameters:
              - {name: Size, type: Integer, default: 1}
            """)
        let (ended, deliberate) = try sandbox.run(["run", "gate/gate.yaml", "-p", "Size=5"])
        #expect(ended != 0 && deliberate.contains("size 5 is above 3"), "\(deliberate)")
        #expect(!deliberate.contains("sluice retry"), "\(deliberate)")

        let log = "\(sandbox.folder)/gate.log"
        let run = sandbox.process(["run", "gate/gate.yaml"], output: log)
        try run.run()
        var token: String?
        for _ in 0..<600 where token == nil {
            usleep(50_000)
            let text = String(decoding: FileManager.default.contents(atPath: log) ?? Data(), as: UTF8.self)
            token = text.split(separator: "\n").first { $0.contains("sluice approve ") }
                .map { String($0.split(separator: " ").last!) }
        }
        let (rejected, message) = try sandbox.run(["reject", try #require(token), "--reason", "not today"])
        #expect(rejected == 0, "\(message)")
        run.waitUntilExit()
        let rejection = String(decoding: FileManager.default.contents(atPath: log) ?? Data(), as: UTF8.self)
        #expect(run.terminationStatus != 0 && rejection.contains("not today"), "\(rejection)")
        #expect(!rejection.contains("sluice retry"), "\(rejection)")
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
        // The link is a route that answers (POST text/csv), not the stage's base URL.
        #expect(
            mail.contains("Subject: Credit risk endpoint ready: http://")
                && mail.contains("/endpoints/credit-risk/prod/invocations\r\n"), "\(mail)")
        // Both messages' files are named alike: time stamp, execution, what sent it, the step.
        let execution = try #require(try store.executions(limit: 1).first?.id)
        for file in files {
            #expect(
                file.wholeMatch(of: #/\d+-(.+)-(approval|notify)-[A-Za-z0-9]+\.eml/#)?.output.1 == Substring(execution),
                "\(files)")
        }

        // W3's API, served: `/invokeSagemakerAPI` answers the registered forest's prediction for the user's latest
        // features, the same number as the model file evaluated here on the feature store's record.
        let model = try ModelArtifact.load(path: registered.artifactPath)
        let features = try #require(latest["features"]?.object, "\(record)")
        let frame = try Frame(
            names: model.inputColumns,
            columns: model.inputColumns.map { name in
                switch try #require(features[name], "feature '\(name)' in \(record)") {
                case .string(let text): .text([text])
                case let value: .numeric([try #require(value.number, "\(name): \(value)")])
                }
            })
        let direct = try model.predict(frame)[0]
        let (answer, reply) = try Self.askServedAPI(
            sandbox, path: "/invokeSagemakerAPI",
            body: #"{"user_id": "\#(repeated)", "sagemaker_endpoint": "credit-risk"}"#)
        #expect(answer == 200 && reply == #"{"result":"\#(direct)"}"#, "\(reply); the model says \(direct)")
    }

    /// Starts `sluice serve` in the sandbox, creates a key, POSTs `body` to `path` with it and stops the server by
    /// its pid; returns the answer's status and body.
    static func askServedAPI(_ sandbox: Sandbox, path: String, body: String) throws -> (Int, String) {
        let (created, printed) = try sandbox.run(["keys", "create", "--name", "risk"])
        let key = try #require(
            printed.split(separator: "\n").first { $0.hasPrefix("sk_") }, "exit \(created): \(printed)")
        let log = "\(sandbox.folder)/serve.log"
        let server = sandbox.process(["serve", "--port", "0"], output: log)
        try server.run()
        defer {
            server.terminate()
            server.waitUntilExit()
        }
        var port: Int?
        for _ in 0..<600 where port == nil && server.isRunning {
            usleep(50_000)
            let text = String(decoding: FileManager.default.contents(atPath: log) ?? Data(), as: UTF8.self)
            port = text.firstMatch(of: /listening on http:\/\/127\.0\.0\.1:(\d+)/).flatMap { Int($0.output.1) }
        }
        let serveLog = String(decoding: FileManager.default.contents(atPath: log) ?? Data(), as: UTF8.self)
        let bound = try #require(port, "no port printed: \(serveLog)")
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(bound)\(path)")!)
        request.httpMethod = "POST"
        request.httpBody = Data(body.utf8)
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.setValue(String(key), forHTTPHeaderField: "x-api-key")
        let answered = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var result: (Int, String) = (0, "no answer")
        URLSession.shared.dataTask(with: request) { data, response, error in
            result = (
                (response as? HTTPURLResponse)?.statusCode ?? 0,
                data.map { String(decoding: $0, as: UTF8.self) } ?? "\(String(describing: error))"
            )
            answered.signal()
        }.resume()
        answered.wait()
        return result
    }
}
