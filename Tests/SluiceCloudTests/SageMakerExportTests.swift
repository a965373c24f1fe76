import Foundation
import SluiceCloud
import SluiceCore
import SluiceSpec
import SluiceTesting
import Testing

@Suite("SageMaker Pipelines export")
struct SageMakerExportTests {
    /// moto's SageMaker: create_pipeline accepts each definition and describe_pipeline gives it back unchanged.
    static let roundTrip = """
        import json, sys, boto3
        from moto import mock_aws
        with mock_aws():
            client = boto3.client("sagemaker", region_name="us-east-1")
            for index, path in enumerate(sys.argv[1:]):
                text = open(path).read()
                client.create_pipeline(
                    PipelineName=f"p{index}", PipelineDefinition=text,
                    RoleArn="arn:aws:iam::123456789012:role/sluice")
                back = client.describe_pipeline(PipelineName=f"p{index}")["PipelineDefinition"]
                print(json.dumps({"path": path, "same": json.loads(back) == json.loads(text)}))
        """

    @Test func definitionsAreAcceptedByMotoAndReadBackUnchanged() async throws {
        let folder = try AWSTools.temporaryFolder("sagemaker")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        var files: [String] = []
        for (index, path) in AWSTools.examplePipelines.enumerated() {
            let pipeline = try AWSTools.load(path)
            guard let export = SageMakerPipelineExporter.export(pipeline).export else {
                // Only a Map (W1's batch pipeline) has no SageMaker counterpart.
                #expect(pipeline.steps.contains { if case .map = $0.kind { true } else { false } }, "\(path)")
                continue
            }
            let file = "\(folder)/\(index).json"
            try AWSTools.write(export.definition.prettyJSON, to: file)
            files.append(file)
        }
        #expect(files.count >= 8)
        let result = try await AWSTools.python(Self.roundTrip, files)
        #expect(result.status == 0, "\(result.error)")
        let lines = result.output.split(separator: "\n")
        #expect(lines.count == files.count)
        for line in lines {
            let entry = try AWSTools.json(String(line))
            #expect(entry["same"] == true, "\(entry)")
        }
    }

    /// SageMaker takes hyperparameters as strings and has no JSON parameters: W4's `HyperParameters` becomes one
    /// String parameter per key, and the training step reads each as a string.
    @Test func hyperParametersAreStringsReadFromOneParameterPerKey() throws {
        let pipeline = try AWSTools.load(AWSTools.packageRoot + "/examples/w4-xgboost/pipeline.yaml")
        let export = try #require(SageMakerPipelineExporter.export(pipeline).export)
        let parameters = try #require(export.definition["Parameters"]?.array)
        #expect(
            parameters == [
                ["Name": "HyperParameters_eval_metric", "Type": "String", "DefaultValue": "rmse"],
                ["Name": "HyperParameters_num_round", "Type": "String", "DefaultValue": "5"],
                ["Name": "HyperParameters_objective", "Type": "String", "DefaultValue": "reg:logistic"],
            ])
        let train = try #require(export.definition["Steps"]?.array?.first { $0["Name"] == "Train Model" })
        let hyperParameters = try #require(train["Arguments"]?["HyperParameters"]?.object)
        #expect(hyperParameters.keys.sorted() == ["eval_metric", "num_round", "objective"])
        for (key, value) in hyperParameters {
            #expect(
                value == ["Std:Join": ["On": "", "Values": [["Get": .string("Parameters.HyperParameters_\(key)")]]]],
                "\(key): \(value)")
        }
        #expect(export.notes.contains { $0.contains("HyperParameters_num_round") })
    }

    @Test func abaloneDefinitionUsesTheSDKForms() throws {
        let pipeline = try AWSTools.load(AWSTools.packageRoot + "/examples/w2-abalone/pipeline.yaml")
        let definition = try #require(SageMakerPipelineExporter.export(pipeline).export?.definition)
        #expect(definition["Version"] == "2020-12-01")
        let parameters = try #require(definition["Parameters"]?.array)
        #expect(parameters.contains(["Name": "ProcessingInstanceCount", "Type": "Integer", "DefaultValue": 1]))
        #expect(parameters.contains(["Name": "MseThreshold", "Type": "Float", "DefaultValue": 6.0]))
        #expect(parameters.contains(["Name": "ModelApprovalStatus", "Type": "String", "DefaultValue": "Approved"]))
        let steps = try #require(definition["Steps"]?.array)
        #expect(steps.compactMap { $0["Name"]?.string } == ["Split", "Preprocess", "Train", "Evaluate", "Check MSE"])
        let preprocess = try #require(steps.first { $0["Name"] == "Preprocess" })
        #expect(preprocess["Type"] == "Processing")
        #expect(
            preprocess["Arguments"]?["ProcessingInputs"]?[path: [.index(0), .key("S3Input"), .key("S3Uri")]]
                == ["Get": "Steps.Split.ProcessingOutputConfig.Outputs['train'].S3Output.S3Uri"])
        #expect(
            preprocess["Arguments"]?["ProcessingResources"]?["ClusterConfig"]?["InstanceCount"]
                == ["Get": "Parameters.ProcessingInstanceCount"])
        let evaluate = try #require(steps.first { $0["Name"] == "Evaluate" })
        #expect(
            evaluate["PropertyFiles"]
                == [["PropertyFileName": "metrics", "OutputName": "metrics", "FilePath": "value.json"]])
        let train = try #require(steps.first { $0["Name"] == "Train" })
        #expect(train["Type"] == "Training")
        let check = try #require(steps.first { $0["Name"] == "Check MSE" })
        let condition = try #require(check["Arguments"]?["Conditions"]?[path: [.index(0)]])
        #expect(condition["Type"] == "LessThanOrEqualTo")
        #expect(
            condition["LeftValue"]
                == [
                    "Std:JsonGet": [
                        "PropertyFile": ["Get": "Steps.Evaluate.PropertyFiles.metrics"],
                        "Path": "regression_metrics.mse.value",
                    ]
                ])
        #expect(condition["RightValue"] == ["Get": "Parameters.MseThreshold"])
        let register = try #require(check["Arguments"]?["IfSteps"]?[path: [.index(0)]])
        #expect(register["Type"] == "RegisterModel")
        #expect(register["Arguments"]?["ModelApprovalStatus"] == ["Get": "Parameters.ModelApprovalStatus"])
        #expect(
            register["Arguments"]?["InferenceSpecification"]?["Containers"]?[path: [.index(0), .key("ModelDataUrl")]]
                == ["Get": "Steps.Train.ModelArtifacts.S3ModelArtifacts"])
        // The baseline gets the registered version as the registry names it locally, Group/N, not the package ARN.
        let baseline = try #require(check["Arguments"]?["IfSteps"]?.array?.first { $0["Name"] == "Baseline" })
        #expect(
            baseline["Arguments"]?["Environment"]?[ContainerJob.inputVariable("ModelVersion")]
                == [
                    "Std:Join": [
                        "On": "/",
                        "Values": [
                            ["Get": "Steps.Register.ModelPackageGroupName"],
                            ["Get": "Steps.Register.ModelPackageVersion"],
                        ],
                    ]
                ])
        let fail = try #require(check["Arguments"]?["ElseSteps"]?[path: [.index(0)]])
        #expect(fail["Type"] == "Fail")
        #expect(
            fail["Arguments"]?["ErrorMessage"]
                == [
                    "Std:Join": [
                        "On": "",
                        "Values": ["Execution failed due to MSE greater than ", ["Get": "Parameters.MseThreshold"]],
                    ]
                ])
    }

    /// W2 written with SageMaker's Python SDK (`Fixtures/sagemaker-sdk/abalone.py`, built offline) and W2 exported by
    /// Sluice agree on parameters, steps, what each step reads, property files, conditions, branches and messages.
    @Test func abaloneHasTheStructureTheSDKGives() async throws {
        let folder = try AWSTools.temporaryFolder("sagemaker-sdk")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let pipeline = try AWSTools.load(AWSTools.packageRoot + "/examples/w2-abalone/pipeline.yaml")
        let definition = try #require(SageMakerPipelineExporter.export(pipeline).export?.definition)
        try AWSTools.write(definition.prettyJSON, to: folder + "/pipeline.json")
        // The command, given the pipeline by a relative path, writes the same definition (local data included).
        let command = try await AWSTools.run(
            SluiceBinary.path, ["export", "sagemaker", "examples/w2-abalone/pipeline.yaml", "-o", folder + "/cli"],
            environment: ["SLUICE_HOME": folder + "/home"], in: AWSTools.packageRoot)
        #expect(command.status == 0, "\(command.error)")
        #expect(try String(contentsOfFile: folder + "/cli/pipeline.json", encoding: .utf8) == definition.prettyJSON)
        let script = AWSTools.packageRoot + "/Tests/SluiceCloudTests/Fixtures/sagemaker-sdk/abalone.py"
        let result = try await AWSTools.run(AWSTools.sagemakerPython, [script, folder + "/pipeline.json"], in: folder)
        try #require(result.status == 0, "\(result.error)")
        let summaries = try AWSTools.json(result.output)
        let sdk = try #require(summaries["sdk"]?.object)
        let sluice = try #require(summaries["sluice"]?.object)
        #expect(sluice["Version"] == sdk["Version"])
        #expect(sluice["Parameters"] == sdk["Parameters"])
        let sdkSteps = try #require(sdk["Steps"]?.object)
        let sluiceSteps = try #require(sluice["Steps"]?.object)
        #expect(sluiceSteps.keys.sorted() == sdkSteps.keys.sorted())
        for (name, step) in sdkSteps { #expect(sluiceSteps[name] == step, "step \(name)") }
        // The summary is not empty: eight steps, the condition's two branches, the property file it reads.
        #expect(sdkSteps.count == 8)
        #expect(
            sdkSteps["Check MSE"]?["If"] == ["Register", "Baseline"]
                && sdkSteps["Check MSE"]?["Else"] == ["MSE Too High"])
        #expect(sdkSteps["Baseline"]?["ReadsFrom"] == ["Register", "Split"])
        #expect(sdkSteps["Evaluate"]?["PropertyFiles"]?.array?.count == 1)
        #expect(sdkSteps["Evaluate"]?["ReadsFrom"] == ["Split", "Train"])
    }

    @Test func cacheRetryAndApprovalCarryOver() throws {
        let diabetes = try AWSTools.load(AWSTools.packageRoot + "/examples/w1-diabetes/pipeline.yaml")
        let steps = try #require(SageMakerPipelineExporter.export(diabetes).export?.definition["Steps"]?.array)
        #expect(steps.first?["CacheConfig"] == ["Enabled": true, "ExpireAfter": "P90D"])
        let credit = try AWSTools.load(AWSTools.packageRoot + "/examples/w3-credit-risk/training-pipeline.yaml")
        let creditSteps = try #require(SageMakerPipelineExporter.export(credit).export?.definition["Steps"]?.array)
        let train = try #require(creditSteps.first { $0["Name"] == "Train Model" })
        #expect(train[path: [.key("RetryPolicies"), .index(0), .key("ExceptionType")]] == ["SageMaker.CAPACITY_ERROR"])
        #expect(train[path: [.key("RetryPolicies"), .index(0), .key("IntervalSeconds")]] == 60)
        let approve = try #require(creditSteps.first { $0["Name"] == "Approve Model" })
        #expect(approve["Type"] == "Callback")
        #expect(approve["OutputParameters"] == [["OutputName": "approved", "OutputType": "Boolean"]])
    }
}
