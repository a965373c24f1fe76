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

    @Test func trainerWithoutTypeRunsSageMakersBuiltinXGBoost() throws {
        let trainer = try module("xgboost-trainer.yaml")
        // Sluice's one addition to the seed's trainer: an id, so W4 names the published trainer by ModuleId.
        #expect(trainer.id == "123e4567-e89b-12d3-a456-426614174001")
        #expect(trainer.kind == .sageMakerTraining)
        #expect(trainer.implementation == .builtin(name: "train.sagemaker.xgboost", options: [:]))
        #expect(trainer.inputs.map(\.name) == ["ImageName", "Training Data", "HyperParameters"])
        let hyperparameters = try #require(trainer.input(named: "HyperParameters"))
        #expect(hyperparameters.type == .json)
        #expect(hyperparameters.value == ["objective": "reg:logistic", "eval_metric": "rmse", "num_round": 5])
        #expect(trainer.output(named: "ModelUri")?.value == "s3://ml-pipeline/{job-execution-name}/models")
    }

    @Test func builtinXGBoostImagesAreRecognised() {
        for image in [
            "xgboost:latest", "xgboost:1", "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1",
        ] {
            #expect(SageMakerAlgorithm.forImage(image) == .xgboost, "\(image)")
        }
        #expect(SageMakerAlgorithm.forImage("my-xgboost-fork:1") == nil)
        #expect(SageMakerAlgorithm.forImage("python:3.12") == nil)
    }

    @Test func unsupportedHyperparameterIsALocatedError() throws {
        let text = """
            name: Trainer
            type: SageMakerTraining
            inputs:
              - name: ImageName
                value: xgboost:latest
                type: String
              - HyperParameters:
                  objective: binary:logistic
                  num_rounds: 5
            """
        let result = PipelineLoader.validate(text: text, file: "trainer.yaml")
        let errors = result.diagnostics.filter { $0.severity == .error }
        #expect(errors.count == 1)
        let error = try #require(errors.first)
        #expect(error.code == "unknown-hyperparameter")
        #expect(error.location?.file == "trainer.yaml" && error.location?.line == 9)
        #expect(error.message.contains("'num_rounds'") && error.message.contains("did you mean 'num_round'"))
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
