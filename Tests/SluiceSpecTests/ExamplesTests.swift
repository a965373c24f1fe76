import Foundation
import SluiceCore
import SluiceSpec
import Testing

@Suite struct ExamplesTests {
    @Test func everyExampleValidatesWithoutErrors() {
        let diagnostics = PipelineLoader.validate(
            paths: [Paths.examples], options: ValidationOptions(knownBuiltins: builtinCatalog))
        let errors = diagnostics.filter { $0.severity == .error }
        #expect(errors.isEmpty, "\(errors.map(\.description).joined(separator: "\n"))")
        // The seed's trainer module is loaded as written, without a type: the only acceptable warning.
        #expect(diagnostics.allSatisfy { $0.code == "missing-type" })
    }

    @Test(arguments: [
        "seed-000/pipeline.yaml", "w1-diabetes/pipeline.yaml", "w1-diabetes/batch-pipeline.yaml",
        "w2-abalone/pipeline.yaml", "w2-abalone/staged-pipeline.yaml", "w3-credit-risk/pipeline.yaml",
        "w4-xgboost/pipeline.yaml",
    ])
    func everyExamplePipelineLoads(_ path: String) throws {
        let (pipeline, diagnostics) = PipelineLoader.load(
            path: Paths.example(path), options: ValidationOptions(knownBuiltins: builtinCatalog))
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
        guard case .map(let map) = pipeline.steps.first?.kind else {
            Issue.record("first step is not a Map")
            return
        }
        #expect(map.items == .files(.reference(Reference(.parameter("InputFolder"))), glob: "*.csv"))
        #expect(map.task.inputs["Input"] == .reference(Reference(.mapItem)))
        #expect(map.maxConcurrency == 4)
    }

    @Test func xgboostPipelineCleansUpAndNotifiesOnFailure() throws {
        let pipeline = try #require(PipelineLoader.load(path: Paths.example("w4-xgboost/pipeline.yaml")).pipeline)
        #expect(pipeline.onFailure.map(\.name) == ["Clean Up", "Notify Failure"])
        #expect(pipeline.maxConcurrentExecutions == 1)
        let train = try #require(pipeline.step(named: "Train Model"))
        guard case .task(let task) = train.kind else { return }
        // `$.outputs.X` reads the previous step of the chain.
        #expect(
            task.inputs["Training Data"]
                == .reference(Reference(.stepOutput(step: "Generate Data Set", output: "S3OutputArtifactUri"))))
    }
}
