"""Runs exported state machines to their end in moto's Step Functions simulation.

Usage: run-exported.py CASES.json
CASES.json: {"functions": {"<function>": {<fields its answer adds to the payload>}},
             "cases": [{"definition": PATH, "name": EXECUTION, "input": {...}, "reports": {"<Step>/<output>": {...}},
                        "objects": ["inputs/incoming/a.csv", ...]}]}
Prints one JSON line per case: status, error, cause, the states entered, approvals given, failed tasks' errors.

moto's server runs in this process on a free loopback port (MOTO_PORT equal to it), with execution enabled through
POST /moto-api/config as for any moto server. Workarounds for moto's limits, here only (the exported definitions run
unchanged, their `${…}` placeholders filled in as CloudFormation's DefinitionSubstitutions would):
- moto forwards a SageMaker request but has no `.sync` for it: the patch below completes `createProcessingJob.sync`,
  `createTrainingJob.sync` and `createTransformJob.sync` at once with the job's Describe… answer, as Step Functions
  does when a job ends; moto's SageMaker records the job (nothing runs);
- so no job writes the reports a Choice reads (`s3://<bucket>/runs/<execution>/<Step>/<output>/value.json`): each
  case gives their contents and they are uploaded before the execution starts;
- nothing runs, so nothing takes time: Wait states (the 30 s between two looks at a new endpoint) pass at once;
- the model package groups a registration names are created first, as the exported template does;
- moto's Lambda runs no code without Docker and answers each invocation with its payload: the patch below adds the
  fields the case file gives for the function (the outputs the real one would add); each `${Function…}`
  placeholder names such a function (its name in lower case), and an approval's task
  token is answered with SendTaskSuccess, as the e-mailed link would;
- moto's `aws-sdk:s3:getObject` leaves the object's `Body` a stream where Step Functions gives its text: the patch
  below reads it (and AWS_RESPONSE_CHECKSUM_VALIDATION=when_required keeps botocore from wrapping it further).
"""
import io, json, logging, os, re, socket, sys, time, urllib.request, zipfile

os.environ["AWS_RESPONSE_CHECKSUM_VALIDATION"] = "when_required"
probe = socket.socket(); probe.bind(("127.0.0.1", 0)); port = probe.getsockname()[1]; probe.close()
os.environ["MOTO_PORT"] = str(port)

import boto3
from moto.awslambda_simple.models import LambdaSimpleBackend
from botocore.response import StreamingBody
from moto.server import ThreadedMotoServer
from moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function import WaitFunction
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import state_task_service_factory
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.resource import ResourceCondition
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_aws_sdk import (
    StateTaskServiceAwsSdk,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_unsupported import (
    StateTaskServiceUnsupported,
)
from moto.stepfunctions.parser.asl.utils.boto_client import boto_client_for


class SageMakerJobDone(StateTaskServiceUnsupported):
    """`sagemaker:create…Job.sync`: the create request, then the job's Describe… answer as the task's result."""

    def __init__(self):
        super().__init__()
        self._supported_integration_patterns = {ResourceCondition.WaitForTaskToken, ResourceCondition.Sync}

    def _build_sync_resolver(self, env, resource_runtime_part, normalised_parameters, state_credentials):
        env.stack.pop()
        kind = self._get_boto_service_action()[len("create_"):]  # processing_job, training_job, transform_job
        name = normalised_parameters["".join(part.title() for part in kind.split("_")) + "Name"]
        client = boto_client_for(service="sagemaker", region=resource_runtime_part.region,
                                 state_credentials=state_credentials)

        def describe():
            answer = getattr(client, "describe_" + kind)(**{"".join(p.title() for p in kind.split("_")) + "Name": name})
            answer.pop("ResponseMetadata", None)
            return json.loads(json.dumps(answer, default=str))

        return describe


original = state_task_service_factory.state_task_service_for
original_sdk_task = StateTaskServiceAwsSdk._eval_service_task


def sdk_task_reading_bodies(self, env, *arguments, **options):
    original_sdk_task(self, env, *arguments, **options)
    answer = env.stack[-1]
    for key, value in list(answer.items()) if isinstance(answer, dict) else []:
        if isinstance(value, StreamingBody):
            answer[key] = value.read().decode()


StateTaskServiceAwsSdk._eval_service_task = sdk_task_reading_bodies


def state_task_service_for(service_name):
    return SageMakerJobDone() if service_name == "sagemaker" else original(service_name)


state_task_service_factory.state_task_service_for = state_task_service_for
# Nothing the machines wait for takes time here: a Wait state passes at once.
WaitFunction._wait_interval = lambda self, env, wait_seconds: None
logging.getLogger("werkzeug").setLevel(logging.ERROR)
logging.getLogger("moto").setLevel(logging.CRITICAL)

server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
server.start()
url = f"http://127.0.0.1:{port}"
try:
    plan = json.load(open(sys.argv[1]))
    cases, answers = plan["cases"], plan.get("functions", {})
    config = {"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}
    urllib.request.urlopen(urllib.request.Request(
        url + "/moto-api/config", data=json.dumps(config).encode(), method="POST"))
    options = dict(endpoint_url=url, region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test")
    role = boto3.client("iam", **options).create_role(RoleName="sluice", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    s3 = boto3.client("s3", **options)
    s3.create_bucket(Bucket="sluice-artifacts")
    topic = boto3.client("sns", **options).create_topic(Name="sluice-notices")["TopicArn"]
    functions = boto3.client("lambda", **options)
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as files:
        files.writestr("index.py", "def handler(event, context):\n    return event\n")

    def stand_in_invoke(self, function_name, qualifier, body, headers, response_headers):
        payload = json.loads(body or "{}")
        return json.dumps({**payload, **answers.get(function_name.split(":")[-1], {})}).encode()

    LambdaSimpleBackend.invoke = stand_in_invoke
    sfn = boto3.client("stepfunctions", **options)
    sagemaker = boto3.client("sagemaker", **options)
    values = {"ArtifactBucket": "sluice-artifacts", "SageMakerRoleArn": role, "Region": "us-east-1",
              "SluiceImageUri": "123456789012.dkr.ecr.us-east-1.amazonaws.com/sluice:latest",
              "NotificationTopicArn": topic, "ApprovalFunction": "approval"}
    created = set()
    for index, case in enumerate(cases):
        text = open(case["definition"]).read()
        start, names = 0, set()
        while (start := text.find("${", start)) >= 0:
            end = text.index("}", start)
            names.add(text[start + 2:end])
            start = end
        for name in sorted(names):
            value = values.get(name) or (name[len("Function"):].lower() if name.startswith("Function") else None)
            if value is None:
                raise SystemExit(f"{case['definition']}: no value for the placeholder {name}")
            if (name.startswith("Function") or name == "ApprovalFunction") and value not in created:
                functions.create_function(FunctionName=value, Runtime="python3.12", Role=role,
                                          Handler="index.handler", Code={"ZipFile": archive.getvalue()})
                created.add(value)
            text = text.replace("${" + name + "}", value)
        # The model package groups the template creates.
        for group in set(re.findall(r'"ModelPackageGroupName": "([^"$]+)"', text)) - created:
            sagemaker.create_model_package_group(ModelPackageGroupName=group)
            created.add(group)
        for place, report in case.get("reports", {}).items():
            s3.put_object(Bucket="sluice-artifacts", Key=f"runs/{case['name']}/{place}/value.json",
                          Body=json.dumps(report).encode())
        for key in case.get("objects", []):
            s3.put_object(Bucket="sluice-artifacts", Key=key, Body=b"x\n1\n")
        machine = sfn.create_state_machine(name=f"exported-{index}", definition=text, roleArn=role)["stateMachineArn"]
        case["arn"] = sfn.start_execution(stateMachineArn=machine, name=case["name"],
                                          input=json.dumps(case.get("input", {})))["executionArn"]
        case["approved"] = set()
    # The executions run side by side (endpoint deployments wait 30 s between two looks at the endpoint).
    running = list(cases)
    for _ in range(3000):
        for case in list(running):
            status = sfn.describe_execution(executionArn=case["arn"])
            if status["status"] != "RUNNING":
                case["status"] = status
                running.remove(case)
                continue
            for event in sfn.get_execution_history(executionArn=case["arn"], maxResults=1000)["events"]:
                details = event.get("taskScheduledEventDetails")
                if details and details["resource"].endswith("waitForTaskToken") and event["id"] not in case["approved"]:
                    token = json.loads(details["parameters"])["Payload"]["token"]
                    sfn.send_task_success(taskToken=token, output=json.dumps({"approved": True}))
                    case["approved"].add(event["id"])
        if not running:
            break
        time.sleep(0.2)
    for case in cases:
        status = case.get("status") or sfn.describe_execution(executionArn=case["arn"])
        events = sfn.get_execution_history(executionArn=case["arn"], maxResults=1000)["events"]
        print(json.dumps({
            "definition": case["definition"], "status": status["status"], "error": status.get("error"),
            "cause": status.get("cause"), "approved": len(case["approved"]),
            "entered": [e["stateEnteredEventDetails"]["name"] for e in events if "stateEnteredEventDetails" in e],
            "failedTasks": [{"error": e["taskFailedEventDetails"].get("error"),
                             "cause": e["taskFailedEventDetails"].get("cause")}
                            for e in events if e["type"] == "TaskFailed"],
        }), flush=True)
finally:
    server.stop()
