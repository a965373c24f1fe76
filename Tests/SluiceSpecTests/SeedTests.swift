import Foundation
import SluiceCore
import SluiceSpec
import Testing

/// The seed's two modules and its pipeline load exactly as written.
@Suite struct SeedTests {
    func module(_ file: String) throws -> Module {
        let path = Paths.example("seed-000/" + file)
        let result = PipelineLoader.validate(text: try Paths.text(path), file: path)
        #expect(!result.diagnostics.hasErrors, "\(result.diagnostics)")
        return try #require(result.module)
    }

    @Test func dataLoaderKeepsItsExtraAttributes() throws {
        let loader = try module("s3-csv-data-loader.yaml")
        #expect(loader.name == "S3CSVDataLoader")
        #expect(loader.id == "123e4567-e89b-12d3-a456-426614174000")
        #expect(loader.kind == .lambda)
        let source = try #require(loader.input(named: "S3DataSource"))
        #expect(source.type == .data)
        #expect(source.value == "s3://ml-pipeline-xgboost/data/customer-churn.csv")
        #expect(
            source.attributes == [
                "ContentType": "text/csv", "CompressionType": "None",
                "fields_to_process": "product_name|product_review",
            ])
        #expect(loader.outputs.map(\.name) == ["ResultStatus", "S3OutputArtifactUri"])
        #expect(loader.output(named: "ResultStatus")?.type == .json)
    }

    @Test func trainerWithoutTypeReadsItsHyperParametersAsAJSONInput() throws {
        let trainer = try module("xgboost-trainer.yaml")
        #expect(trainer.id == nil)
        #expect(trainer.kind == .command)
        #expect(trainer.inputs.map(\.name) == ["ImageName", "Training Data", "HyperParameters"])
        let hyperparameters = try #require(trainer.input(named: "HyperParameters"))
        #expect(hyperparameters.type == .json)
        #expect(hyperparameters.value == ["objective": "reg:logistic", "eval_metric": "rmse", "num_round": 5])
        #expect(trainer.output(named: "ModelUri")?.value == "s3://ml-pipeline/{job-execution-name}/models")
    }

    @Test func seedPipelineIsAChainOfThreeSteps() throws {
        let (pipeline, diagnostics) = PipelineLoader.load(path: Paths.example("seed-000/pipeline.yaml"))
        let loaded = try #require(pipeline, "\(diagnostics)")
        #expect(loaded.name == "XGBoostTrainingPipeline")
        #expect(loaded.type == "TrainingPipeline")
        #expect(loaded.steps.map(\.name) == ["Generate Data Set", "Train Model", "Batch Transform"])
        #expect(loaded.steps.map(\.after) == [[], [Dependency("Generate Data Set")], [Dependency("Train Model")]])
        #expect(Array(loaded.modules.keys) == ["S3CSVDataLoader"])
        #expect(loaded.maxConcurrentExecutions == 1)
    }
}
