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

        let (failed, failure) = try sandbox.run(["run", pipeline, "-p", data, "-p", "MseThreshold=0.5"])
        #expect(failed != 0)
        #expect(failure.contains("Execution failed due to MSE greater than 0.5"), "\(failure)")
        #expect(try store.modelVersions(group: "AbalonePackageGroup").count == 1)
    }

    /// W3's training path on the synthetic loans file: features, stratified split, random forest of 5 trees with
    /// oversampling, model-metrics.json, then the execution waits until `sluice approve TOKEN` and registers.
    @Test func creditRiskWaitsForApprovalThenRegisters() throws {
        let sandbox = try Sandbox()
        let log = "\(sandbox.folder)/run.log"
        let run = sandbox.process(["run", Self.examples + "/w3-credit-risk/training-pipeline.yaml"], output: log)
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
        let registered = try #require(try store.latestModelVersion(group: "CreditRiskModelGroup", status: .approved))
        let metrics = try #require(registered.metrics)
        for key in ["accuracy_score", "precision_score", "recall_score"] {
            let value = try #require(metrics[key]?.number, "\(key) in \(metrics)")
            #expect(value > 0 && value <= 1, "\(key)")
        }
        #expect(metrics["accuracy_score"]!.number! > 0.6)
    }
}
