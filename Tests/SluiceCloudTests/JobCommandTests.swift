import Foundation
import SluiceCloud
import SluiceCore
import SluiceSpec
import SluiceTesting
import Testing

/// `sluice job`, the entry point of Sluice's image, run without a container: the folders SageMaker would mount are
/// plain folders under a temporary root.
@Suite("sluice job")
struct JobCommandTests {
    @Test func diabetesStepsRunFromSageMakerFolders() async throws {
        let root = try AWSTools.temporaryFolder("job")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let pipeline = try AWSTools.load(AWSTools.packageRoot + "/examples/w1-diabetes/pipeline.yaml")
        let export = try #require(StepFunctionsExporter.export(pipeline).export)
        for (name, module) in export.imageModules {
            try AWSTools.write(module.prettyJSON, to: "\(root)/image/\(name)")
        }
        let environment = ["SLUICE_HOME": root + "/home", "SLUICE_DURABILITY": "process"]
        func job(_ module: String, _ layout: String, _ folder: String) async throws {
            let result = try await AWSTools.run(
                SluiceBinary.path,
                ["job", "--module", "\(root)/image/\(module).json", "--layout", layout, "--root", "\(root)/\(folder)"],
                environment: environment)
            #expect(result.status == 0, "\(module): \(result.error)")
        }
        let files = FileManager.default

        // Processing: the CSV arrives in /opt/ml/processing/input/data, the splits leave from …/output/<name>.
        try files.createDirectory(atPath: "\(root)/split/processing/input/data", withIntermediateDirectories: true)
        try files.copyItem(
            atPath: AWSTools.packageRoot + "/examples/data/diabetes_scaled.csv",
            toPath: "\(root)/split/processing/input/data/diabetes_scaled.csv")
        try await job("DiabetesPreprocess", "processing", "split")
        let trainCSV = "\(root)/split/processing/output/train/train.csv"
        let testCSV = "\(root)/split/processing/output/test/test.csv"
        #expect(try String(contentsOfFile: trainCSV, encoding: .utf8).split(separator: "\n").count == 423)
        #expect(try String(contentsOfFile: testCSV, encoding: .utf8).split(separator: "\n").count == 21)

        // Training: the channel is /opt/ml/input/data/train, the model is left in /opt/ml/model.
        try files.createDirectory(atPath: "\(root)/train/input/data/train", withIntermediateDirectories: true)
        try files.copyItem(atPath: trainCSV, toPath: "\(root)/train/input/data/train/train.csv")
        try await job("DiabetesTrainer", "training", "train")
        let model = try files.contentsOfDirectory(atPath: "\(root)/train/model")
        #expect(model.count == 1)

        // Evaluation reads the model as SageMaker hands it over, model.tar.gz, and writes value.json reports.
        try files.createDirectory(atPath: "\(root)/evaluate/processing/input/model", withIntermediateDirectories: true)
        try files.createDirectory(atPath: "\(root)/evaluate/processing/input/test", withIntermediateDirectories: true)
        let tar = try await AWSTools.run(
            "/usr/bin/env",
            ["tar", "-czf", "\(root)/evaluate/processing/input/model/model.tar.gz", "-C", "\(root)/train/model", "."])
        #expect(tar.status == 0)
        try files.copyItem(atPath: testCSV, toPath: "\(root)/evaluate/processing/input/test/test.csv")
        try await job("RegressionEvaluator", "processing", "evaluate")
        let metrics = try AWSTools.json(
            String(contentsOfFile: "\(root)/evaluate/processing/output/metrics/value.json", encoding: .utf8))
        let r2 = try #require(metrics[path: [.key("regression_metrics"), .key("r2"), .key("value")]]?.number)
        #expect(abs(r2 - 0.47) < 0.01, "R² on the 20 test rows should be about 0.47, got \(r2)")
        let report = try AWSTools.json(
            String(contentsOfFile: "\(root)/evaluate/processing/output/report/value.json", encoding: .utf8))
        #expect(report == metrics)
    }

    @Test func aValueInputArrivesThroughTheEnvironment() async throws {
        let root = try AWSTools.temporaryFolder("job-env")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let module = Module(
            name: "Echo", kind: .builtin, inputs: [Module.Port(name: "Greeting Text", type: .string)],
            outputs: [Module.Port(name: "Greeting Text", type: .string)],
            implementation: .builtin(name: "echo", options: [:]))
        let data = try JSONEncoder().encode(module)
        try AWSTools.write(String(decoding: data, as: UTF8.self), to: root + "/Echo.json")
        let result = try await AWSTools.run(
            SluiceBinary.path, ["job", "--module", root + "/Echo.json", "--root", root + "/ml"],
            environment: [
                "SLUICE_HOME": root + "/home", "SLUICE_DURABILITY": "process",
                ContainerJob.inputVariable("Greeting Text"): "hello",
            ])
        #expect(result.status == 0, "\(result.error)")
        let written = try String(
            contentsOfFile: root + "/ml/processing/output/Greeting_Text/value.json", encoding: .utf8)
        #expect(try AWSTools.json(written) == "hello")
    }
}
