import Foundation
import SluiceTesting
import Testing

/// W4, the seed's XGBoostTrainingPipeline, through the binary and offline: the README's publish and copy lines,
/// then `sluice run examples/w4-xgboost/pipeline.yaml` in a copy of the repository's examples.
@Suite struct XGBoostWorkflowTests {
    static let examples = RelativePathTests.repository + "/examples"
    static let batchFiles = ["part-1.csv", "part-2.csv"]

    /// A scratch folder laid out like the repository root, with the modules published and the data copied to
    /// `s3://ml-pipeline-xgboost/data/` in the embedded store, as the README's W4 section does it.
    static func prepared() async throws -> Scratch {
        let scratch = try Scratch()
        try FileManager.default.createDirectory(atPath: scratch.folder + "/examples", withIntermediateDirectories: true)
        for folder in ["seed-000", "modules", "w4-xgboost"] {
            try FileManager.default.copyItem(
                atPath: examples + "/" + folder, toPath: scratch.folder + "/examples/" + folder)
        }
        for command in [
            ["modules", "publish", "examples/seed-000", "examples/modules"],
            ["s3", "cp", "examples/w4-xgboost/data/customer-churn.csv", "s3://ml-pipeline-xgboost/data/"],
            ["s3", "cp", "examples/w4-xgboost/data/batch", "s3://ml-pipeline-xgboost/data/batch"],
        ] {
            let (status, output) = try await RelativePathTests.sluice(command, in: scratch.folder, home: scratch.home)
            #expect(status == 0, "sluice \(command.joined(separator: " ")):\n\(output)")
            // The seed's pipeline beside its modules is skipped quietly, not reported as broken.
            #expect(!output.contains("error"), "sluice \(command.joined(separator: " ")):\n\(output)")
        }
        return scratch
    }

    static func executionID(_ output: String) throws -> String {
        try #require(output.firstMatch(of: /execution (\S+)  XGBoostTrainingPipeline/)).output.1.description
    }

    static func lines(_ path: String) throws -> [String] {
        try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map(String.init)
    }

    /// Without the publish line the run stops before it starts, naming each module it could not find and how to
    /// publish it.
    @Test func withoutPublishingTheRunNamesEachMissingModule() async throws {
        let scratch = try Scratch()
        defer { try? FileManager.default.removeItem(atPath: scratch.folder) }
        try FileManager.default.createDirectory(atPath: scratch.folder + "/examples", withIntermediateDirectories: true)
        try FileManager.default.copyItem(
            atPath: Self.examples + "/w4-xgboost", toPath: scratch.folder + "/examples/w4-xgboost")
        let (status, output) = try await RelativePathTests.sluice(
            ["run", "examples/w4-xgboost/pipeline.yaml"], in: scratch.folder, home: scratch.home)
        #expect(status != 0, "\(output)")
        #expect(
            output.contains(
                "pipeline.yaml:17:15: error: step 'Generate Data Set' uses unknown module "
                    + "'123e4567-e89b-12d3-a456-426614174000'"), "\(output)")
        for id in ["123e4567-e89b-12d3-a456-426614174001", "123e4567-e89b-12d3-a456-426614174002"] {
            #expect(output.contains("uses unknown module '\(id)'"), "\(output)")
        }
        #expect(output.contains("publish it (`sluice modules publish FILE`)"), "\(output)")
        #expect(output.contains("nothing was run"), "\(output)")
    }

    @Test func runsEndToEndAndWritesOnePredictionPerRow() async throws {
        let scratch = try await Self.prepared()
        defer { try? FileManager.default.removeItem(atPath: scratch.folder) }
        let (status, output) = try await RelativePathTests.sluice(
            ["run", "examples/w4-xgboost/pipeline.yaml"], in: scratch.folder, home: scratch.home)
        #expect(status == 0, "\(output)")
        let id = try Self.executionID(output)
        let predictions = scratch.home + "/s3/ml-pipeline-xgboost/\(id)/predictions"
        var all: [Double] = []
        for file in Self.batchFiles {
            let rows = try Self.lines(scratch.folder + "/examples/w4-xgboost/data/batch/" + file)
            let values = try Self.lines(predictions + "/" + file + ".out").map { try #require(Double($0), "\($0)") }
            #expect(values.count == rows.count, "\(file): \(values.count) predictions for \(rows.count) rows")
            #expect(values.allSatisfy { $0 >= 0 && $0 <= 1 }, "\(file): reg:logistic predicts in [0, 1]: \(values)")
            all += values
        }
        // A trained model tells customers apart: the predictions are not one constant.
        #expect(Set(all).count > 1)
        // The loader split the synthetic set 70/15/15, label (0 or 1) first and no header, as the trainer reads it.
        let dataSet = scratch.home + "/s3/ml-pipeline-xgboost/\(id)/data-set"
        let counts = try ["train", "test", "validation"].map { try Self.lines("\(dataSet)/\($0).csv").count }
        #expect(counts == [280, 60, 60])
        #expect(try Self.lines("\(dataSet)/train.csv").allSatisfy { $0.hasPrefix("0,") || $0.hasPrefix("1,") })
        #expect(
            FileManager.default.fileExists(atPath: scratch.home + "/s3/ml-pipeline/\(id)/models/xgboost-model.json"))
    }

    @Test func failedTrainingCleansUpAndLeavesAnEmail() async throws {
        let scratch = try await Self.prepared()
        defer { try? FileManager.default.removeItem(atPath: scratch.folder) }
        let bad = #"HyperParameters={"objective":"reg:logistic","eval_metric":"rmse","num_round":"five"}"#
        let (status, output) = try await RelativePathTests.sluice(
            ["run", "examples/w4-xgboost/pipeline.yaml", "-p", bad], in: scratch.folder, home: scratch.home)
        #expect(status != 0, "\(output)")
        let id = try Self.executionID(output)
        let (_, shown) = try await RelativePathTests.sluice(
            ["show", id, "--format", "json"], in: scratch.folder, home: scratch.home)
        let detail = try #require(
            try JSONSerialization.jsonObject(with: Data(shown.utf8)) as? [String: Any], "\(shown)")
        let steps = try #require(detail["steps"] as? [[String: Any]])
        let statuses = Dictionary(
            steps.map { ($0["name"] as? String ?? "", $0["status"] as? String ?? "") }, uniquingKeysWith: { $1 })
        #expect(statuses["Generate Data Set"] == "succeeded")
        #expect(statuses["Train Model"] == "failed")
        #expect(statuses["Batch Transform"] != "succeeded")
        #expect(statuses["Clean Up"] == "succeeded")
        #expect(statuses["Notify Failure"] == "succeeded")
        let train = try #require(steps.first { $0["name"] as? String == "Train Model" })
        #expect("\(train["error"] ?? "")".contains("num_round"))
        let outbox = scratch.home + "/outbox"
        let mails = try FileManager.default.contentsOfDirectory(atPath: outbox).filter { $0.hasSuffix(".eml") }
            .map { try String(contentsOfFile: outbox + "/" + $0, encoding: .utf8) }
        #expect(mails.count == 1)
        #expect(mails.first?.contains("To: ml-team@example.com") == true, "\(mails)")
        #expect(mails.first?.contains("XGBoostTrainingPipeline execution \(id) failed") == true, "\(mails)")
    }
}
