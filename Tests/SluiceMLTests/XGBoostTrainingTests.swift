import Foundation
import SluiceCore
import SluiceExecutors
import SluiceML
import SluiceTesting
import Testing

/// SageMaker's built-in XGBoost run natively: the model file it writes is XGBoost's own, and XGBoost 3.2.0
/// (`scripts/python-tools`) loads it and predicts what Sluice predicts to 1e-6 (relative for values above 1);
/// trained with the same hyperparameters, XGBoost and Sluice reach the same AUC within 0.005.
@Suite struct XGBoostTrainingTests {
    let oracle = fixture("xgboost_oracle.py")

    func folder() throws -> String {
        let path = NSTemporaryDirectory() + "sluice-xgb-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// Headerless CSV text of `rows` rows of `d` features in (−50, 50) (six decimals, as data files hold them)
    /// with, when `label` is given, that label first.
    func table(_ rows: Int, _ d: Int, seed: UInt64, label: (([Double]) -> Double)? = nil) -> String {
        var rng = SplitMix64(seed: seed)
        var text = ""
        for _ in 0..<rows {
            let x = (0..<d).map { _ in ((rng.nextUnit() - 0.5) * 100 * 1e6).rounded() / 1e6 }
            let cells = x.map { String(format: "%.6f", $0) }
            text += ((label.map { [CSVWriter.formatCell($0(x))] } ?? []) + cells).joined(separator: ",") + "\n"
        }
        return text
    }

    func matrix(_ text: String) throws -> Matrix {
        let frame = try CSVReader.parse(Array(text.utf8), options: CSVOptions(header: false))
        return try frame.matrix(frame.names)
    }

    func rows(_ output: String) -> [[Double]] {
        output.split(separator: "\n").map { $0.split(separator: ",").compactMap { Double(String($0)) } }
    }

    @Test(arguments: [
        [
            "objective": "binary:logistic", "num_round": "20", "max_depth": "5", "eta": "0.3", "alpha": "0.5",
            "scale_pos_weight": "2", "subsample": "0.8", "colsample_bytree": "0.8", "min_child_weight": "2",
        ],
        [
            "objective": "reg:squarederror", "num_round": "15", "max_depth": "4", "eta": "0.2", "lambda": "3",
            "gamma": "1",
        ],
        ["objective": "reg:logistic", "num_round": "10", "max_depth": "3", "eval_metric": "rmse"],
        ["objective": "multi:softprob", "num_class": "3", "num_round": "8", "max_depth": "4", "eta": "0.3"],
    ])
    func xgboostLoadsTheModelAndPredictsTheSame(_ hyperparameters: [String: String]) throws {
        let objective = hyperparameters["objective"]!
        let labelOf: ([Double]) -> Double =
            switch objective {
            case "reg:squarederror": { x in (x[0] * 0.5 - x[1] + (x[2] > 10 ? 20 : 0)) / 50 }
            case "multi:softprob": { x in x[0] > 15 ? 2 : x[1] + x[3] > 0 ? 1 : 0 }
            default: { x in x[0] + x[1] * x[2] / 25 > 5 ? 1 : 0 }
            }
        let train = table(3_000, 6, seed: 11, label: labelOf)
        let trainFrame = try CSVReader.parse(Array(train.utf8), options: CSVOptions(header: false))
        let x = try trainFrame.matrix(Array(trainFrame.names.dropFirst()))
        let y = try trainFrame.numbers(trainFrame.names[0])
        let result = try XGBoostTraining.fit(x, y, hyperparameters: hyperparameters)
        let work = try folder()
        defer { try? FileManager.default.removeItem(atPath: work) }
        try Data(result.xgboostJSON).write(to: URL(fileURLWithPath: work + "/xgboost-model.json"))
        let rowsText = table(1_000, 6, seed: 12)
        try rowsText.write(toFile: work + "/rows.csv", atomically: true, encoding: .utf8)
        let theirs = rows(try PythonTools.run([oracle, "predict", work + "/xgboost-model.json", work + "/rows.csv"]))
        let test = try matrix(rowsText)
        let ours: [[Double]]
        if let multiclass = result.multiclass {
            let p = multiclass.probabilities(test)
            ours = (0..<test.rows).map { i in (0..<3).map { p[i, $0] } }
        } else {
            ours = result.predict(test).map { [$0] }
        }
        #expect(theirs.count == 1_000 && ours.count == 1_000)
        var worst = 0.0
        for (a, b) in zip(ours, theirs) {
            #expect(a.count == b.count)
            // XGBoost sums in float32: regression values of tens carry float32 rounding in the 6th digit.
            for (u, v) in zip(a, b) { worst = max(worst, abs(u - v) / max(1, abs(v))) }
        }
        #expect(worst <= 1e-6, "largest difference \(worst) (relative above 1) for \(objective)")
        // The model learned something: it is not a constant.
        #expect(Set(ours.map { $0[0] }).count > 5)
    }

    @Test func aucOnBreastCancerMatchesXGBoostTrainedWithTheSameHyperparameters() throws {
        let frame = try CSVReader.read(path: fixture("breast_cancer.csv"))
        let label = frame.names.last!
        let features = Array(frame.names.dropLast())
        let all = try frame.matrix(features)
        let y = try frame.numbers(label)
        let cut = 455
        let hyperparameters = [
            "objective": "binary:logistic", "num_round": "40", "max_depth": "3", "eta": "0.1",
            "min_child_weight": "1", "lambda": "1",
        ]
        let result = try XGBoostTraining.fit(all.rows(0..<cut), Array(y[..<cut]), hyperparameters: hyperparameters)
        let test = all.rows(cut..<all.rows)
        let testY = Array(y[cut...])
        let ourAUC = try #require(Metrics.rocAUC(testY, result.predict(test)))
        let work = try folder()
        defer { try? FileManager.default.removeItem(atPath: work) }
        func csv(_ m: Matrix, label: [Double]?) -> String {
            (0..<m.rows).map { i in
                ((label.map { [CSVWriter.formatCell($0[i])] } ?? [])
                    + (0..<m.cols).map { CSVWriter.formatCell(m[i, $0]) }).joined(separator: ",")
            }.joined(separator: "\n") + "\n"
        }
        try csv(all.rows(0..<cut), label: Array(y[..<cut])).write(
            toFile: work + "/train.csv", atomically: true, encoding: .utf8)
        try csv(test, label: nil).write(toFile: work + "/test.csv", atomically: true, encoding: .utf8)
        let parameters = try JSONSerialization.data(withJSONObject: hyperparameters)
        try parameters.write(to: URL(fileURLWithPath: work + "/params.json"))
        let theirs = rows(
            try PythonTools.run([
                oracle, "train", work + "/params.json", work + "/train.csv", work + "/test.csv",
            ])
        ).map { $0[0] }
        let theirAUC = try #require(Metrics.rocAUC(testY, theirs))
        #expect(abs(ourAUC - theirAUC) <= 0.005, "Sluice AUC \(ourAUC), XGBoost AUC \(theirAUC)")
        #expect(ourAUC > 0.9)
    }

    @Test func unknownObjectiveAndMissingNumClassAreRefused() {
        #expect {
            try XGBoostTraining.fit(
                Matrix(rows: 2, cols: 1, values: [0, 1]), [0, 1], hyperparameters: ["objective": "rank:pairwise"])
        } throws: { "\($0)".contains("rank:pairwise") }
        #expect {
            try XGBoostTraining.fit(
                Matrix(rows: 2, cols: 1, values: [0, 1]), [0, 1], hyperparameters: ["objective": "multi:softmax"])
        } throws: { "\($0)".contains("num_class") }
    }

    @Test func theBuiltinStepWritesBothModelFilesAndRefusesUnknownHyperparameters() async throws {
        let work = try folder()
        defer { try? FileManager.default.removeItem(atPath: work) }
        try FileManager.default.createDirectory(atPath: work + "/data", withIntermediateDirectories: true)
        try table(400, 3, seed: 5) { $0[0] > 0 ? 1 : 0 }.write(
            toFile: work + "/data/train.csv", atomically: true, encoding: .utf8)
        let step = try #require(mlBuiltinSteps.first { $0.name == SageMakerAlgorithm.xgboost.builtinStep })
        func context(_ hyperparameters: JSONValue) -> BuiltinStepContext {
            BuiltinStepContext(
                inputs: [
                    "ImageName": "xgboost:latest", "Training Data": .string(work + "/data"),
                    "HyperParameters": hyperparameters,
                ],
                options: [:], workDirectory: work + "/step", executionID: "e1", stepName: "Train Model",
                declaredOutputs: ["ModelUri"])
        }
        let outputs = try await step.run(
            context(["objective": "reg:logistic", "eval_metric": "rmse", "num_round": "5"]))
        let model = try #require(outputs["ModelUri"]?.string)
        #expect(outputs["model"]?.string == model && outputs["trees"] == .int(5))
        #expect(FileManager.default.fileExists(atPath: model + "/xgboost-model.json"))
        let artifact = try ModelArtifact.load(path: model + "/model.json")
        #expect(artifact.features == ["column_2", "column_3", "column_4"] && artifact.label == "column_1")
        #expect((outputs["train_rmse"]?.number ?? 1) < 0.5)
        await #expect {
            _ = try await step.run(context(["objective": "reg:logistic", "num_rounds": "5"]))
        } throws: { error in
            "\(error)".contains("'num_rounds'") && "\(error)".contains("did you mean 'num_round'")
        }
    }
}
