import Foundation
import SluiceCore

/// The approval machinery of an exported machine: a function that e-mails approve/reject links through the
/// notification topic, and a callback function (behind a function URL) that resumes the waiting execution with
/// `SendTaskSuccess` or `SendTaskFailure` (`Sluice.ApprovalRejected`).
enum ApprovalResources {
    static let requestCode = """
        import json, os, urllib.parse, boto3

        def handler(event, context):
            token = urllib.parse.quote(event["token"], safe="")
            base = os.environ["CALLBACK_URL"].rstrip("/")
            body = "\\n".join([
                event.get("message") or "Approve step " + event.get("step", "") + "?",
                "",
                "Execution: " + event.get("execution", ""),
                "Approve: " + base + "/?type=success&token=" + token,
                "Reject: " + base + "/?type=fail&token=" + token,
            ])
            boto3.client("sns").publish(
                TopicArn=os.environ["TOPIC_ARN"], Subject=("Approval needed: " + event.get("step", ""))[:100],
                Message=body)
            return {"sent": True}

        """

    static let callbackCode = """
        import json, boto3

        def handler(event, context):
            query = event.get("queryStringParameters") or {}
            token, kind = query.get("token"), query.get("type")
            if not token or kind not in ("success", "fail"):
                return {"statusCode": 400, "body": "expected ?type=success|fail&token=..."}
            client = boto3.client("stepfunctions")
            if kind == "success":
                client.send_task_success(taskToken=token, output=json.dumps({"approved": True}))
            else:
                client.send_task_failure(taskToken=token, error="Sluice.ApprovalRejected", cause="Rejected by link")
            return {"statusCode": 200, "body": "Recorded: " + ("approved" if kind == "success" else "rejected")}

        """

    static func function(code: String, role: String, environment: JSONValue?) -> JSONValue {
        var properties: [String: JSONValue] = [
            "Runtime": "python3.12", "Handler": "index.handler", "Timeout": 30,
            "Role": CloudFormationTemplate.arn(role), "Code": ["ZipFile": .string(code)],
        ]
        if let environment { properties["Environment"] = ["Variables": environment] }
        return ["Type": "AWS::Lambda::Function", "Properties": .object(properties)]
    }

    static func role(_ statements: [JSONValue], name: String) -> JSONValue {
        [
            "Type": "AWS::IAM::Role",
            "Properties": [
                "AssumeRolePolicyDocument": CloudFormationTemplate.assumeRole("lambda.amazonaws.com"),
                "ManagedPolicyArns": [
                    CloudFormationTemplate.sub(
                        "arn:${AWS::Partition}:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole")
                ],
                "Policies": [
                    [
                        "PolicyName": .string(name),
                        "PolicyDocument": ["Version": "2012-10-17", "Statement": .array(statements)],
                    ]
                ],
            ],
        ]
    }

    static var resources: [String: JSONValue] {
        [
            "ApprovalFunctionRole": role(
                [
                    CloudFormationTemplate.allow(
                        ["sns:Publish"], [CloudFormationTemplate.ref("NotificationTopic")], sid: "Mail")
                ],
                name: "SluiceApprovalRequest"),
            "ApprovalFunction": function(
                code: requestCode, role: "ApprovalFunctionRole",
                environment: [
                    "TOPIC_ARN": CloudFormationTemplate.ref("NotificationTopic"),
                    "CALLBACK_URL": ["Fn::GetAtt": ["ApprovalCallbackUrl", "FunctionUrl"]],
                ]),
            "ApprovalCallbackRole": role(
                [
                    CloudFormationTemplate.allow(
                        ["states:SendTaskSuccess", "states:SendTaskFailure"],
                        ["*"], sid: "Decide")
                ], name: "SluiceApprovalCallback"),
            "ApprovalCallbackFunction": function(code: callbackCode, role: "ApprovalCallbackRole", environment: nil),
            "ApprovalCallbackUrl": [
                "Type": "AWS::Lambda::Url",
                "Properties": [
                    "AuthType": "NONE", "TargetFunctionArn": CloudFormationTemplate.arn("ApprovalCallbackFunction"),
                ],
            ],
            "ApprovalCallbackPermission": [
                "Type": "AWS::Lambda::Permission",
                "Properties": [
                    "Action": "lambda:InvokeFunctionUrl",
                    "FunctionName": CloudFormationTemplate.ref("ApprovalCallbackFunction"),
                    "Principal": "*", "FunctionUrlAuthType": "NONE",
                ],
            ],
        ]
    }
}
