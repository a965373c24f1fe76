import Foundation
import SluiceCore
import SluiceSpec
import SluiceTesting
import Testing

@Suite struct ExamplesTests {
    @Test func everyExampleValidatesWithoutErrors() {
        // W4 names its modules by ModuleId from the catalog: the README publishes them first.
        let diagnostics = PipelineLoader.validate(paths: [Paths.examples], options: ExampleCatalog.options)
        let errors = diagnostics.filter { $0.severity == .error }
        #expect(errors.isEmpty, "\(errors.map(\.description).joined(separator: "\n"))")
        // A module without a type (read as a Command) is the only acceptable warning.
        #expect(diagnostics.allSatisfy { $0.code == "missing-type" })
    }

    @Test(arguments: [
        "seed-000/pipeline.yaml", "w1-diabetes/pipeline.yaml", "w1-diabetes/batch-pipeline.yaml",
        "w2-abalone/pipeline.yaml", "w2-abalone/staged-pipeline.yaml", "w3-credit-risk/pipeline.yaml",
        "w4-xgboost/pipeline.yaml",
    ])
    func everyExamplePipelineLoads(_ path: String) throws {
        let (pipeline, diagnostics) = PipelineLoader.load(path: Paths.example(path), options: ExampleCatalog.options)
        let loaded = try #require(pipeline, "\(diagnostics)")
        #expect(!loaded.steps.isEmpty)
        #expect(loaded.graph.topologicalOrder() != nil)
        for step in loaded.steps {
            if case .task(let task) = step.kind { #expect(loaded.modules[task.module] != nil) }
        }
    }

    @Test func relativeDataDefaultsAreAnchoredAtThePipelineFile() throws {
        let pipeline = try #require(PipelineLoader.load(path: Paths.example("w1-diabetes/pipeline.yaml")).pipeline)
        let input = try #require(pipeline.parameter(named: "InputData")?.defaultValue?.string)
        #expect(input.hasPrefix("/") && input.hasSuffix("/examples/data/diabetes_scaled.csv"))
        #expect(FileManager.default.fileExists(atPath: input))
        let status = try #require(pipeline.parameter(named: "ModelApprovalStatus")?.defaultValue)
        #expect(status == "Approved")
    }

    @Test func diabetesGateRegistersOnlyOnTheThenBranch() throws {
        let pipeline = try #require(PipelineLoader.load(path: Paths.example("w1-diabetes/pipeline.yaml")).pipeline)
        let register = try #require(pipeline.step(named: "Register"))
        #expect(register.after.contains(Dependency("Check R2", on: .conditionTrue)))
        #expect(register.cache == CachePolicy(enabled: true, expireAfter: TimeSpan(seconds: 90 * 86_400)))
        let gate = try #require(pipeline.step(named: "Check R2"))
        guard case .condition(let condition) = gate.kind else {
            Issue.record("Check R2 is not a condition")
            return
        }
        let report: JSONValue = ["regression_metrics": ["r2": ["value": 0.47]]]
        let holds = try condition.condition.evaluate { reference in
            switch reference.root {
            case .parameter: 0.2
            default: report[path: reference.path] ?? .null
            }
        }
        #expect(holds)
    }

    @Test func abaloneFailMessageInterpolatesTheThreshold() throws {
        let pipeline = try #require(PipelineLoader.load(path: Paths.example("w2-abalone/pipeline.yaml")).pipeline)
        let fail = try #require(pipeline.step(named: "MSE Too High"))
        guard case .fail(let spec) = fail.kind else {
            Issue.record("not a Fail step")
            return
        }
        let defaults = Dictionary(uniqueKeysWithValues: pipeline.parameters.map { ($0.name, $0.defaultValue) })
        let text = spec.message.render { reference in
            guard case .parameter(let name) = reference.root, let value = defaults[name] ?? nil else { return .null }
            return value
        }
        #expect(text == "Execution failed due to MSE greater than 6.0")
        #expect(fail.after == [Dependency("Check MSE", on: .conditionFalse)])
        #expect(
            pipeline.parameters.map(\.name).starts(with: [
                "ProcessingInstanceCount", "TrainingInstanceCount", "ModelApprovalStatus", "MseThreshold",
            ]))
    }

    @Test func creditRiskRetriesAndCatchesIntoTheFailStep() throws {
        let pipeline = try #require(PipelineLoader.load(path: Paths.example("w3-credit-risk/pipeline.yaml")).pipeline)
        let train = try #require(pipeline.step(named: "Train Model"))
        #expect(
            train.retry.last
                == RetryRule(
                    errorEquals: [ErrorName.all], interval: TimeSpan(seconds: 1), maxAttempts: 1, backoffRate: 1.1))
        #expect(train.retry.first?.interval == TimeSpan(seconds: 60))
        let handler = try #require(pipeline.step(named: "Handle Failure"))
        #expect(handler.after.contains(Dependency("Train Model", on: .caught)))
        #expect(handler.after.allSatisfy { $0.outcome == .caught })
        // `$.steps['Process Data']` reads across a step whose name has a space.
        let split = try #require(pipeline.step(named: "Split"))
        guard case .task(let task) = split.kind, case .reference(let reference) = task.inputs["data"] else {
            Issue.record("Split does not read a reference")
            return
        }
        #expect(reference.root == .stepOutput(step: "Process Data", output: "features"))
    }

    @Test func batchPipelineMapsOverFilesAndIsTriggeredByThem() throws {
        let pipeline = try #require(
            PipelineLoader.load(path: Paths.example("w1-diabetes/batch-pipeline.yaml")).pipeline)
        #expect(pipeline.triggers.map(\.kind) == [.files(folder: Paths.example("w1-diabetes/incoming"), glob: "*.csv")])
        guard case .map(let map) = pipeline.step(named: "Predict Files")?.kind else {
            Issue.record("'Predict Files' is not a Map")
            return
        }
        #expect(map.items == .files(.reference(Reference(.parameter("InputFolder"))), glob: "*.csv"))
        #expect(map.task.inputs["input"] == .reference(Reference(.mapItem)))
        #expect(
            map.task.inputs["model"]
                == .reference(Reference(.stepOutput(step: "Latest Model", output: "Model"))))
        #expect(map.maxConcurrency == 4)
    }

    @Test func xgboostPipelineCleansUpAndNotifiesOnFailure() throws {
        let pipeline = try #require(
            PipelineLoader.load(path: Paths.example("w4-xgboost/pipeline.yaml"), options: ExampleCatalog.options)
                .pipeline)
        #expect(pipeline.onFailure.map(\.name) == ["Clean Up", "Notify Failure"])
        #expect(pipeline.maxConcurrentExecutions == 1)
        let train = try #require(pipeline.step(named: "Train Model"))
        guard case .task(let task) = train.kind else { return }
        // `$.outputs.X` reads the previous step of the chain.
        #expect(
            task.inputs["Training Data"]
                == .reference(Reference(.stepOutput(step: "Generate Data Set", output: "S3OutputArtifactUri"))))
    }

    /// W4 names each step's module by ModuleId, as the seed does, and finds them in the catalog: without the
    /// published modules it does not load, and says which id it could not find, where.
    @Test func xgboostPipelineResolvesItsModulesFromTheCatalog() throws {
        let path = Paths.example("w4-xgboost/pipeline.yaml")
        let pipeline = try #require(PipelineLoader.load(path: path, options: ExampleCatalog.options).pipeline)
        for step in ["Generate Data Set", "Train Model", "Batch Transform"] {
            guard case .task(let task)? = pipeline.step(named: step)?.kind else {
                Issue.record("\(step) is not a task")
                continue
            }
            #expect(pipeline.modules[task.module]?.catalog?.version == 1, "\(step): \(task.module)")
        }
        #expect(pipeline.modules["XGBoostTrainer"]?.id == "123e4567-e89b-12d3-a456-426614174001")
        let (unpublished, diagnostics) = PipelineLoader.load(
            path: path, options: ValidationOptions(knownBuiltins: builtinCatalog))
        #expect(unpublished == nil)
        let unknown = diagnostics.filter { $0.code == "unknown-module" }
        #expect(unknown.count == 5, "\(diagnostics)")
        let first = try #require(unknown.first { $0.location?.line == 17 }, "\(unknown)")
        #expect(first.location?.file == path && first.location?.column == 15)
        #expect(first.message.contains("123e4567-e89b-12d3-a456-426614174000"), "\(first.message)")
    }
}
