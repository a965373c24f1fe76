import Foundation
import SluiceCore
import SluiceExecutors
import SluiceML
import Testing

/// The built-in steps run directly with a temporary work folder, as the engine will run them.
@Suite struct BuiltinStepTests {
    func step(_ name: String) throws -> any BuiltinStep {
        try #require(mlBuiltinSteps.first { $0.name == name })
    }

    func workDirectory() throws -> String {
        let path = NSTemporaryDirectory() + "sluice-ml-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    func run(_ name: String, inputs: [String: JSONValue], options: [String: JSONValue] = [:]) async throws
        -> [String: JSONValue]
    {
        let context = BuiltinStepContext(
            inputs: inputs, options: options, workDirectory: try workDirectory(), executionID: "e1", stepName: name)
        return try await step(name).run(context)
    }

    @Test func w1PipelineSplitTrainEvaluatePredict() async throws {
        let data = fixture("diabetes_scaled.csv")
        let split = try await run("data.split", inputs: ["data": .string(data)], options: ["first": .int(422)])
        #expect(split["train_rows"] == .int(422) && split["test_rows"] == .int(20))
        let trained = try await run(
            "train.linear", inputs: ["train": try #require(split["train"])],
            options: [
                "method": .string("gd"), "label": .string("target"), "features": .array([.string("bmi")]),
                "learning_rate": .double(0.1), "iterations": .int(15_001),
                "initial_weights": .array([.double(1.764052345967664)]),
                "initial_intercept": .double(0.4001572083672233),
            ])
        let model = try #require(trained["model"])
        let evaluation = try await run("evaluate", inputs: ["model": model, "test": try #require(split["test"])])
        let r2 = try #require(
            evaluation["metrics"]?[path: [.key("regression_metrics"), .key("r2"), .key("value")]]?.number)
        #expect(abs(r2 - 0.47) < 0.01)
        let report = try #require(evaluation["report"]?.string)
        #expect(report.hasSuffix("evaluation.json") && FileManager.default.fileExists(atPath: report))
        // Batch inference: a CSV with header `x`, input filter $[0].
        let input = try workDirectory()
        try "x\n0.3\n0.3\n".write(toFile: input + "/batch.csv", atomically: true, encoding: .utf8)
        let predicted = try await run(
            "predict.batch", inputs: ["model": model, "input": .string(input)],
            options: ["input_filter": .string("$[0]")])
        let output = try #require(predicted["output"]?.string)
        let lines = try String(contentsOfFile: output + "/batch.csv.out", encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 2)
        #expect(abs(try #require(Double(lines[0])) - 434.0766) < 1e-3)
    }

    @Test func validateReportsViolationsWithLines() async throws {
        let folder = try workDirectory()
        try "a,b\n1,2\n-5,\n3,4\n".write(toFile: folder + "/d.csv", atomically: true, encoding: .utf8)
        await #expect {
            try await run(
                "data.validate", inputs: ["data": .string(folder + "/d.csv")],
                options: [
                    "columns": .object(["a": .object(["min": .int(0)]), "b": .object(["required": .bool(true)])])
                ])
        } throws: { error in
            let failure = error as? StepFailure
            return failure?.error == "Sluice.SchemaViolation" && failure?.cause.contains("d.csv:3") == true
        }
    }

    @Test func validateStreamsChunksAndKeepsFileLines() async throws {
        let folder = try workDirectory()
        try "a,b\n1,2\n-5,\n3,4\n7,\n".write(toFile: folder + "/d.csv", atomically: true, encoding: .utf8)
        let result = try await run(
            "data.validate", inputs: ["data": .string(folder + "/d.csv")],
            options: [
                "columns": .object(["a": .object(["min": .int(0)]), "b": .object(["required": .bool(true)])]),
                "fail_on_violation": .bool(false), "chunk_rows": .int(2),
            ])
        #expect(result["violations"] == .int(3) && result["rows"] == .int(4))
        let report =
            try JSONSerialization.jsonObject(
                with: Data(contentsOf: URL(fileURLWithPath: try #require(result["report"]?.string)))) as? [String: Any]
        let violations = try #require(report?["violations"] as? [[String: Any]])
        #expect(violations.map { "\($0["column"]!)@\($0["line"]!)" } == ["a@3", "b@3", "b@5"])
    }

    @Test func batchPredictionInSmallChunksEqualsOneChunk() async throws {
        let trained = try await run(
            "train.linear", inputs: ["train": .string(fixture("diabetes_scaled.csv"))],
            options: ["label": .string("target"), "features": .array([.string("bmi"), .string("bp")])])
        let model = try #require(trained["model"])
        let input = try workDirectory()
        var text = "bmi,bp\n"
        for i in 0..<100 { text += "\(Double(i) / 1000 - 0.05),\(Double(i % 7) / 100 - 0.03)\n" }
        try text.write(toFile: input + "/rows.csv", atomically: true, encoding: .utf8)
        var outputs: [String] = []
        for chunk in [7, 65_536] {
            let predicted = try await run(
                "predict.batch", inputs: ["model": model, "input": .string(input)],
                options: ["chunk_rows": .int(chunk)])
            #expect(predicted["rows"] == .int(100))
            let folder = try #require(predicted["output"]?.string)
            outputs.append(try String(contentsOfFile: folder + "/rows.csv.out", encoding: .utf8))
        }
        #expect(outputs[0] == outputs[1] && outputs[0].split(separator: "\n").count == 100)
    }

    @Test func gbdtAndLogisticStepsTrainAndEvaluateBinary() async throws {
        let data = fixture("breast_cancer.csv")
        let split = try await run(
            "data.split", inputs: ["data": .string(data)],
            options: [
                "ratios": .array([.double(0.8), .double(0.2)]), "names": .array([.string("train"), .string("test")]),
                "seed": .int(1), "stratify": .string("target"),
            ])
        for (name, options) in [
            ("train.gbdt", ["objective": JSONValue.string("binary:logistic"), "num_round": .string("20")]),
            ("train.logistic", ["C": .double(1)]),
            ("train.random_forest", ["n_estimators": .int(5), "oversample": .bool(true), "seed": .int(123)]),
        ] {
            let trained = try await run(name, inputs: ["train": try #require(split["train"])], options: options)
            let evaluation = try await run(
                "evaluate", inputs: ["model": try #require(trained["model"]), "test": try #require(split["test"])])
            let auc = try #require(
                evaluation["metrics"]?[path: [.key("binary_classification_metrics"), .key("auc"), .key("value")]]?
                    .number)
            #expect(auc > 0.95)
        }
    }

    @Test func missingLabelColumnFailsWithTheColumns() async throws {
        await #expect {
            try await run(
                "train.linear", inputs: ["train": .string(fixture("diabetes_scaled.csv"))],
                options: ["label": .string("y")])
        } throws: { error in
            (error as? StepFailure)?.cause.contains("no column 'y'") == true
        }
    }

    @Test func mlpStepTakesStringHyperparameters() async throws {
        let folder = try workDirectory()
        var text = "a,b,y\n"
        for i in 0..<200 {
            let a = Double(i % 20) / 10 - 1
            let b = Double(i / 20) / 5 - 1
            text += "\(a),\(b),\(2 * a - b)\n"
        }
        try text.write(toFile: folder + "/train.csv", atomically: true, encoding: .utf8)
        let trained = try await run(
            "train.mlp", inputs: ["train": .string(folder + "/train.csv")],
            options: [
                "epochs": .string("60"), "layers": .string("1"), "dense_layer": .string("16"),
                "batch_size": .string("8"), "learning_rate": .double(0.01),
            ])
        let mse = try #require(trained["train_mse"]?.number)
        #expect(mse < 0.05)
    }
}
