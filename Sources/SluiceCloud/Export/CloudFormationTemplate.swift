import Foundation
import SluiceCore

/// The CloudFormation stack of an exported pipeline: the state machine with its definition embedded (placeholders
/// filled by `DefinitionSubstitutions`), an execution role with one statement per AWS service the machine calls,
/// the artifact bucket, the SNS topic for notices, and the approval functions when a step waits for a person.
struct CloudFormationTemplate {
    let pipeline: Pipeline
    let machine: MachineBuilder

    static func sub(_ text: String) -> JSONValue { ["Fn::Sub": .string(text)] }
    static func ref(_ name: String) -> JSONValue { ["Ref": .string(name)] }
    static func arn(_ name: String) -> JSONValue { ["Fn::GetAtt": [.string(name), "Arn"]] }

    var machineName: String { ExportNames.logicalID(pipeline.name) }

    var document: JSONValue {
        var resources: [String: JSONValue] = [:]
        var parameters: [String: JSONValue] = [:]
        var outputs: [String: JSONValue] = [:]
        var substitutions: [String: JSONValue] = [:]
        let uses = Set(machine.substitutions.keys)
        let integrations = machine.integrations

        resources["ArtifactBucket"] = [
            "Type": "AWS::S3::Bucket",
            "Properties": [
                "BucketEncryption": [
                    "ServerSideEncryptionConfiguration": [["ServerSideEncryptionByDefault": ["SSEAlgorithm": "AES256"]]]
                ],
                "PublicAccessBlockConfiguration": [
                    "BlockPublicAcls": true, "BlockPublicPolicy": true, "IgnorePublicAcls": true,
                    "RestrictPublicBuckets": true,
                ],
            ],
        ]
        substitutions["ArtifactBucket"] = Self.ref("ArtifactBucket")
        outputs["ArtifactBucketName"] = ["Description": "Inputs and step outputs", "Value": Self.ref("ArtifactBucket")]

        let needsTopic = integrations.contains(.sns) || integrations.contains(.approval) || !pipeline.onFailure.isEmpty
        if needsTopic {
            resources["NotificationTopic"] = [
                "Type": "AWS::SNS::Topic",
                "Properties": ["DisplayName": .string(String("Sluice \(pipeline.name)".prefix(100)))],
            ]
            substitutions["NotificationTopicArn"] = Self.ref("NotificationTopic")
            for (index, address) in machine.emailRecipients.sorted().enumerated() {
                resources["NotificationSubscription\(index + 1)"] = [
                    "Type": "AWS::SNS::Subscription",
                    "Properties": [
                        "TopicArn": Self.ref("NotificationTopic"), "Protocol": "email", "Endpoint": .string(address),
                    ],
                ]
            }
        }

        let sageMakerJobs: Set<Integration> = [.processing, .training, .transform, .model, .endpoint, .modelPackage]
        if !integrations.isDisjoint(with: sageMakerJobs) {
            resources["SageMakerRole"] = sageMakerRole
            substitutions["SageMakerRoleArn"] = Self.arn("SageMakerRole")
        }
        if uses.contains("SluiceImageUri") {
            parameters["SluiceImageUri"] = [
                "Type": "String", "Description": "URI of Sluice's image in ECR, built from the exported Dockerfile",
            ]
            substitutions["SluiceImageUri"] = Self.ref("SluiceImageUri")
        }
        if uses.contains("Region") { substitutions["Region"] = Self.ref("AWS::Region") }
        for (name, module) in machine.lambdaFunctions.sorted(by: { $0.key < $1.key }) {
            parameters[name] = [
                "Type": "String", "Description": .string("Name of the Lambda function of module \(module)"),
            ]
            substitutions[name] = Self.ref(name)
        }
        for (name, description) in [
            ("HttpConnectionArn", "ARN of the EventBridge connection HTTP tasks authenticate with"),
            ("EcsCluster", "ECS cluster running container steps"), ("EcsSubnet", "Subnet for Fargate tasks"),
        ] where uses.contains(name) {
            parameters[name] = ["Type": "String", "Description": .string(description)]
            substitutions[name] = Self.ref(name)
        }
        for (index, group) in machine.modelPackageGroups.sorted().enumerated() {
            resources["ModelPackageGroup\(index + 1)"] = [
                "Type": "AWS::SageMaker::ModelPackageGroup",
                "Properties": [
                    "ModelPackageGroupName": .string(group),
                    "ModelPackageGroupDescription": .string("Models registered by pipeline \(pipeline.name)"),
                ],
            ]
        }
        if integrations.contains(.approval) {
            resources.merge(ApprovalResources.resources) { first, _ in first }
            substitutions["ApprovalFunction"] = Self.ref("ApprovalFunction")
            outputs["ApprovalCallbackUrl"] = [
                "Description": "Where the e-mailed approve/reject links point",
                "Value": ["Fn::GetAtt": ["ApprovalCallbackUrl", "FunctionUrl"]],
            ]
        }

        resources["StateMachineRole"] = [
            "Type": "AWS::IAM::Role",
            "Properties": [
                "AssumeRolePolicyDocument": Self.assumeRole("states.amazonaws.com"),
                "Policies": [
                    [
                        "PolicyName": "SluiceStateMachine",
                        "PolicyDocument": ["Version": "2012-10-17", "Statement": .array(statements)],
                    ]
                ],
            ],
        ]
        resources["StateMachine"] = [
            "Type": "AWS::StepFunctions::StateMachine",
            "Properties": [
                "StateMachineName": Self.sub("${AWS::StackName}-\(machineName)"),
                "RoleArn": Self.arn("StateMachineRole"),
                "Definition": machine.definition,
                "DefinitionSubstitutions": .object(substitutions),
            ],
        ]
        outputs["StateMachineArn"] = ["Description": "The exported pipeline", "Value": Self.ref("StateMachine")]

        var document: [String: JSONValue] = [
            "AWSTemplateFormatVersion": "2010-09-09",
            "Description": .string("Sluice pipeline \(pipeline.name) on AWS Step Functions"),
            "Resources": .object(resources), "Outputs": .object(outputs),
        ]
        if !parameters.isEmpty { document["Parameters"] = .object(parameters) }
        return .object(document)
    }

    static func assumeRole(_ service: String) -> JSONValue {
        [
            "Version": "2012-10-17",
            "Statement": [["Effect": "Allow", "Principal": ["Service": .string(service)], "Action": "sts:AssumeRole"]],
        ]
    }

    static func allow(_ actions: [String], _ resources: [JSONValue], sid: String) -> JSONValue {
        [
            "Sid": .string(sid), "Effect": "Allow", "Action": .array(actions.map { .string($0) }),
            "Resource": .array(resources),
        ]
    }

    var sageMakerRole: JSONValue {
        [
            "Type": "AWS::IAM::Role",
            "Properties": [
                "AssumeRolePolicyDocument": Self.assumeRole("sagemaker.amazonaws.com"),
                "Policies": [
                    [
                        "PolicyName": "SluiceSageMakerJobs",
                        "PolicyDocument": [
                            "Version": "2012-10-17",
                            "Statement": [
                                Self.allow(
                                    ["s3:GetObject", "s3:PutObject", "s3:ListBucket"],
                                    [
                                        Self.sub("arn:${AWS::Partition}:s3:::${ArtifactBucket}"),
                                        Self.sub("arn:${AWS::Partition}:s3:::${ArtifactBucket}/*"),
                                    ], sid: "Artifacts"),
                                Self.allow(
                                    ["ecr:GetAuthorizationToken", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
                                    ["*"], sid: "Images"),
                                Self.allow(
                                    [
                                        "logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents",
                                        "cloudwatch:PutMetricData",
                                    ], ["*"], sid: "Logs"),
                            ],
                        ],
                    ]
                ],
            ],
        ]
    }

    /// Least-privilege statements, one group per AWS service the machine calls.
    var statements: [JSONValue] {
        let account = "arn:${AWS::Partition}:%@:${AWS::Region}:${AWS::AccountId}:"
        func scoped(_ service: String, _ tail: String) -> JSONValue {
            Self.sub(account.replacingOccurrences(of: "%@", with: service) + tail)
        }
        let passRole = Self.allow(["iam:PassRole"], [Self.arn("SageMakerRole")], sid: "PassSageMakerRole")
        var result: [JSONValue] = []
        func syncJob(_ sid: String, _ kind: String, _ resource: String, rule: String) {
            result.append(
                Self.allow(
                    [
                        "sagemaker:Create\(kind)", "sagemaker:Describe\(kind)", "sagemaker:Stop\(kind)",
                        "sagemaker:AddTags",
                    ],
                    [scoped("sagemaker", "\(resource)/*")], sid: sid))
            result.append(
                Self.allow(
                    ["events:PutTargets", "events:PutRule", "events:DescribeRule"],
                    [scoped("events", "rule/\(rule)")], sid: sid + "Events"))
        }
        for integration in machine.integrations.sorted() {
            switch integration {
            case .lambda:
                let functions = machine.lambdaFunctions.keys.sorted().map {
                    scoped("lambda", "function:${\($0)}")
                }
                let named = pipeline.modules.values.compactMap { $0.cloud?["function"]?.string }.sorted().map {
                    $0.hasPrefix("arn:") ? JSONValue.string($0) : scoped("lambda", "function:\($0)")
                }
                result.append(Self.allow(["lambda:InvokeFunction"], functions + named, sid: "Lambda"))
            case .approval:
                result.append(Self.allow(["lambda:InvokeFunction"], [Self.arn("ApprovalFunction")], sid: "Approval"))
            case .http:
                result.append(Self.allow(["states:InvokeHTTPEndpoint"], ["*"], sid: "HttpInvoke"))
                result.append(
                    Self.allow(
                        ["events:RetrieveConnectionCredentials"], [Self.sub("${HttpConnectionArn}")],
                        sid: "HttpConnection"))
                result.append(
                    Self.allow(
                        ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
                        [scoped("secretsmanager", "secret:events!connection/*")], sid: "HttpSecret"))
            case .glue:
                result.append(
                    Self.allow(
                        ["glue:StartJobRun", "glue:GetJobRun", "glue:GetJobRuns", "glue:BatchStopJobRun"],
                        [scoped("glue", "job/*")], sid: "Glue"))
            case .ecs:
                result.append(
                    Self.allow(["ecs:RunTask", "ecs:StopTask", "ecs:DescribeTasks"], ["*"], sid: "Ecs"))
                result.append(
                    Self.allow(
                        ["events:PutTargets", "events:PutRule", "events:DescribeRule"],
                        [scoped("events", "rule/StepFunctionsGetEventsForECSTaskRule")], sid: "EcsEvents"))
            case .processing:
                syncJob(
                    "Processing", "ProcessingJob", "processing-job",
                    rule: "StepFunctionsGetEventsForSageMakerProcessingJobsRule")
            case .training:
                syncJob(
                    "Training", "TrainingJob", "training-job",
                    rule: "StepFunctionsGetEventsForSageMakerTrainingJobsRule")
            case .transform:
                syncJob(
                    "Transform", "TransformJob", "transform-job",
                    rule: "StepFunctionsGetEventsForSageMakerTransformJobsRule")
            case .model:
                result.append(
                    Self.allow(
                        ["sagemaker:CreateModel", "sagemaker:AddTags"], [scoped("sagemaker", "model/*")], sid: "Model"))
            case .modelPackage:
                result.append(
                    Self.allow(
                        ["sagemaker:CreateModelPackage"],
                        [scoped("sagemaker", "model-package-group/*"), scoped("sagemaker", "model-package/*")],
                        sid: "ModelPackage"))
            case .endpoint:
                result.append(
                    Self.allow(
                        [
                            "sagemaker:CreateEndpointConfig", "sagemaker:CreateEndpoint", "sagemaker:UpdateEndpoint",
                            "sagemaker:DescribeEndpoint", "sagemaker:AddTags",
                        ],
                        [scoped("sagemaker", "endpoint/*"), scoped("sagemaker", "endpoint-config/*")], sid: "Endpoint"))
            case .sns:
                result.append(Self.allow(["sns:Publish"], [Self.ref("NotificationTopic")], sid: "Notify"))
            case .s3Read:
                result.append(
                    Self.allow(
                        ["s3:GetObject"], [Self.sub("arn:${AWS::Partition}:s3:::${ArtifactBucket}/runs/*")],
                        sid: "Reports"))
            case .distributedMap:
                result.append(
                    Self.allow(["s3:ListBucket", "s3:GetObject"], ["arn:aws:s3:::*"], sid: "MapItems"))
                result.append(
                    Self.allow(
                        ["states:StartExecution"],
                        [scoped("states", "stateMachine:${AWS::StackName}-\(machineName)")], sid: "MapChildren"))
                result.append(
                    Self.allow(
                        ["states:DescribeExecution", "states:StopExecution"],
                        [scoped("states", "execution:${AWS::StackName}-\(machineName):*")], sid: "MapChildrenStatus"))
            }
        }
        let sageMakerRoleUsers: Set<Integration> = [.processing, .training, .transform, .model, .endpoint]
        if !machine.integrations.isDisjoint(with: sageMakerRoleUsers) { result.append(passRole) }
        return result
    }
}
