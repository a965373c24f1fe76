import Foundation
import SluiceCloud
import SluiceCore
import SluiceSpec
import Testing

@Suite("Step Functions export")
struct StepFunctionsExportTests {
    /// Every example pipeline exports; statelint finds no error in any ASL and cfn-lint none in any template.
    @Test func everyExampleExportsCleanForStatelintAndCfnLint() async throws {
        let folder = try AWSTools.temporaryFolder("export-lint")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let pipelines = AWSTools.examplePipelines
        #expect(pipelines.count >= 9, "examples/ should hold W1 (3), W2 (2), W3 (2), W4 and seed-000")
        var templates: [String] = []
        for (index, path) in pipelines.enumerated() {
            let pipeline = try AWSTools.load(path)
            let (export, diagnostics) = StepFunctionsExporter.export(pipeline)
            #expect(export != nil, "\(path): \(diagnostics.map(\.description))")
            guard let export else { continue }
            let asl = "\(folder)/\(index)/statemachine.asl.json"
            let template = "\(folder)/\(index)/template.yaml"
            try AWSTools.write(export.definition.prettyJSON, to: asl)
            try AWSTools.write(export.template.yaml(), to: template)
            templates.append(template)
            let statelint = try await AWSTools.run(AWSTools.bin + "/statelint", [asl])
            #expect(statelint.status == 0, "statelint on \(path): \(statelint.output) \(statelint.error)")
        }
        let cfnLint = try await AWSTools.run(AWSTools.bin + "/cfn-lint", templates)
        // cfn-lint's exit status is a bitmask: 2 means at least one error (4 warnings, 8 informational).
        #expect(cfnLint.status & 2 == 0, "cfn-lint: \(cfnLint.output) \(cfnLint.error)")
    }

    /// statelint does catch what the export must avoid: a Next to a missing state (W3's original bug).
    @Test func statelintRejectsANextToAMissingState() async throws {
        let folder = try AWSTools.temporaryFolder("statelint")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let pipeline = try AWSTools.load(AWSTools.packageRoot + "/examples/w3-credit-risk/pipeline.yaml")
        guard case .object(var definition) = StepFunctionsExporter.export(pipeline).export?.definition,
            case .object(var states) = definition["States"], case .object(var approve) = states["Approve Model"]
        else {
            Issue.record("W3 did not export")
            return
        }
        approve["Next"] = "Sagemaker Create Model"
        states["Approve Model"] = .object(approve)
        definition["States"] = .object(states)
        try AWSTools.write(JSONValue.object(definition).prettyJSON, to: folder + "/broken.json")
        let statelint = try await AWSTools.run(AWSTools.bin + "/statelint", [folder + "/broken.json"])
        #expect(statelint.status != 0)
        #expect(statelint.output.contains("Sagemaker Create Model"))
    }

    @Test func conditionOnAJobReportReadsItFromS3ThenChooses() throws {
        let pipeline = try AWSTools.load(AWSTools.packageRoot + "/examples/w2-abalone/pipeline.yaml")
        let states = try #require(StepFunctionsExporter.export(pipeline).export?.definition["States"])
        let read = try #require(states["Check MSE"])
        #expect(read["Resource"] == "arn:aws:states:::aws-sdk:s3:getObject")
        #expect(read["ResultSelector"]?["value.$"] == "States.StringToJson($.Body)")
        #expect(read["Parameters"]?["Key.$"] == "States.Format('runs/{}/Evaluate/metrics/value.json', $.run)")
        let choice = try #require(states["Check MSE: choose"])
        #expect(choice["Default"] == "MSE Too High")
        let rule = try #require(choice["Choices"]?.array?.first)
        #expect(rule["Next"] == "Register")
        #expect(rule["Variable"] == "$.steps.Evaluate.outputs.metrics.value.regression_metrics.mse.value")
        #expect(rule["NumericLessThanEqualsPath"] == "$.parameters.MseThreshold")
        let fail = try #require(states["MSE Too High"])
        #expect(
            fail["CausePath"]
                == "States.Format('Execution failed due to MSE greater than {}', $.parameters.MseThreshold)")
        let train = try #require(states["Train"])
        #expect(train["Resource"] == "arn:aws:states:::sagemaker:createTrainingJob.sync")
        #expect(train["Parameters"]?["TrainingJobName.$"] == "States.Format('train-{}', $.run)")
        #expect(train["Parameters"]?["ResourceConfig"]?["InstanceCount.$"] == "$.parameters.TrainingInstanceCount")
        #expect(train["ResultSelector"]?["outputs"]?["model.$"] == "$.ModelArtifacts.S3ModelArtifacts")
        let register = try #require(states["Register"])
        #expect(register["Resource"] == "arn:aws:states:::aws-sdk:sagemaker:createModelPackage")
        #expect(register["Parameters"]?["ModelApprovalStatus.$"] == "$.parameters.ModelApprovalStatus")
    }

    @Test func approvalRetryCatchAndTimeoutMapOneToOne() throws {
        let pipeline = try AWSTools.load(AWSTools.packageRoot + "/examples/w3-credit-risk/pipeline.yaml")
        let export = try #require(StepFunctionsExporter.export(pipeline).export)
        let states = try #require(export.definition["States"])
        let approve = try #require(states["Approve Model"])
        #expect(approve["Resource"] == "arn:aws:states:::lambda:invoke.waitForTaskToken")
        #expect(approve["Parameters"]?["Payload"]?["token.$"] == "$$.Task.Token")
        // `{execution.id}` is the execution's name (what `sluice aws start --name` sets), not its ARN.
        #expect(
            approve["Parameters"]?["Payload"]?["message.$"]?.string
                == "States.Format('Model of execution {} is trained. Approve or reject it to continue.', "
                + "$$.Execution.Name)")
        #expect(approve["TimeoutSeconds"] == .int(7 * 86_400))
        #expect(approve["Catch"]?[path: [.index(0), .key("Next")]] == "Handle Failure")
        let train = try #require(states["Train Model"])
        #expect(train[path: [.key("Retry"), .index(0), .key("ErrorEquals"), .index(0)]] == "Sluice.CapacityError")
        #expect(train[path: [.key("Retry"), .index(0), .key("IntervalSeconds")]] == 60)
        #expect(train[path: [.key("Retry"), .index(1), .key("BackoffRate")]] == 1.1)
        let deploy = try #require(states["Create Endpoint: describe endpoint"])
        #expect(deploy["Resource"] == "arn:aws:states:::aws-sdk:sagemaker:describeEndpoint")
        #expect(states["Create Endpoint: in service?"]?["Default"] == "Create Endpoint: endpoint failed")
        #expect(states["Send Endpoint Link"]?["Resource"] == "arn:aws:states:::sns:publish")
        let resources = try #require(export.template["Resources"])
        #expect(resources["ApprovalCallbackUrl"]?["Type"] == "AWS::Lambda::Url")
        #expect(resources["NotificationSubscription1"]?["Properties"]?["Endpoint"] == "risk-team@example.com")
    }

    @Test func onFailureCatchesEverythingIntoCleanUpThenFails() throws {
        let pipeline = try AWSTools.load(AWSTools.packageRoot + "/examples/w4-xgboost/pipeline.yaml")
        let states = try #require(StepFunctionsExporter.export(pipeline).export?.definition["States"])
        for name in ["Generate Data Set", "Train Model", "Batch Transform: transform"] {
            let catchers = try #require(states[name]?["Catch"]?.array, "\(name) has no Catch")
            #expect(catchers.last?["Next"] == "Clean Up")
            #expect(catchers.last?["ErrorEquals"] == ["States.ALL"])
        }
        #expect(states["Clean Up"]?["Next"] == "Notify Failure")
        #expect(states["Clean Up"]?["Catch"]?[path: [.index(0), .key("Next")]] == "Sluice: Failed")
        #expect(states["Notify Failure"]?["Next"] == "Sluice: Failed")
        #expect(states["Sluice: Failed"]?["Type"] == "Fail")
        #expect(states["Train Model"]?["Parameters"]?["AlgorithmSpecification"]?["TrainingImage"] == "xgboost:latest")
        // W4 binds the trainer's hyperparameters to its `HyperParameters` parameter: read from the execution input
        // key by key, each made a string (SageMaker's CreateTrainingJob takes string values only).
        #expect(
            states["Train Model"]?["Parameters"]?["HyperParameters"]
                == [
                    "eval_metric.$": "States.Format('{}', $.parameters.HyperParameters.eval_metric)",
                    "num_round.$": "States.Format('{}', $.parameters.HyperParameters.num_round)",
                    "objective.$": "States.Format('{}', $.parameters.HyperParameters.objective)",
                ])
        #expect(states["Train Model"]?["Parameters"]?["HyperParameters.$"] == nil)
    }

    @Test func cachingHasNoCounterpartAndTheNotesSaySo() throws {
        let pipeline = try AWSTools.load(AWSTools.packageRoot + "/examples/w1-diabetes/pipeline.yaml")
        let export = try #require(StepFunctionsExporter.export(pipeline).export)
        #expect(export.notes.contains { $0.contains("no Step Functions counterpart") })
        let defaults = try #require(export.definition["States"]?["Sluice: Defaults"]?["Parameters"]?["defaults"])
        #expect(defaults["InputData"] == "s3://${ArtifactBucket}/inputs/diabetes_scaled.csv")
        #expect(export.substitutions["SluiceImageUri"] != nil)
        #expect(export.imageModules["DiabetesTrainer.json"]?["name"] == "DiabetesTrainer")
    }

    @Test func filesMapIsDistributedOverTheS3Prefix() throws {
        let pipeline = try AWSTools.load(AWSTools.packageRoot + "/examples/w1-diabetes/batch-pipeline.yaml")
        let map = try #require(StepFunctionsExporter.export(pipeline).export?.definition["States"]?["Predict Files"])
        #expect(map["ItemReader"]?["Resource"] == "arn:aws:states:::s3:listObjectsV2")
        #expect(map["ItemReader"]?["Parameters"]?["Prefix"] == "inputs/incoming/")
        #expect(map["ItemProcessor"]?["ProcessorConfig"]?["Mode"] == "DISTRIBUTED")
        #expect(map["MaxConcurrency"] == 4)
        let glob = try #require(map["ItemProcessor"]?["States"]?["Predict Files: matches *.csv?"])
        #expect(glob["Choices"]?[path: [.index(0), .key("StringMatches")]] == "*.csv")
    }

    /// A command that only exists on this machine cannot run on AWS: the export says where and what to add.
    @Test func localCommandWithoutImageIsALocatedDiagnostic() throws {
        let folder = try AWSTools.temporaryFolder("not-exportable")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try AWSTools.write(
            """
            name: Tidy
            type: Command
            implementation:
              command: [python3, tidy.py]
            inputs: []
            outputs: []
            """, to: folder + "/tidy.yaml")
        try AWSTools.write(
            """
            name: Tidying
            steps:
              - name: Tidy Up
                module: Tidy
            """, to: folder + "/pipeline.yaml")
        let pipeline = try AWSTools.load(folder + "/pipeline.yaml")
        let (export, diagnostics) = StepFunctionsExporter.export(pipeline)
        #expect(export == nil)
        let diagnostic = try #require(diagnostics.first { $0.code == "not-exportable" })
        #expect(diagnostic.location?.file.hasSuffix("tidy.yaml") == true)
        #expect(diagnostic.location?.line == 1)
        #expect(diagnostic.message.contains("Tidy Up"))
        #expect(diagnostic.fix?.contains("cloud:") == true)
        #expect(diagnostic.fix?.contains("image") == true)
    }
}
