"""moto's server with stand-ins for what moto does not simulate, so exported state machines run to their end.

Usage: server.py PORT [ANSWERS.json]
ANSWERS.json: {"<function>": {<fields the function's answer adds to its payload>}}
Serves moto on 127.0.0.1:PORT (MOTO_PORT equal to it, as simulated tasks call back to it) until it is killed;
`setup.py` then enables execution through POST /moto-api/config as for any moto server, and the tests create and
start the machines with `sluice aws deploy` and `sluice aws start`. Workarounds for moto's limits, here only (the
exported definitions are deployed unchanged but for their `${…}` placeholders, filled by `sluice aws deploy --set`):
- moto forwards a SageMaker request but has no `.sync` for it: the patch below completes `createProcessingJob.sync`,
  `createTrainingJob.sync` and `createTransformJob.sync` at once with the job's Describe… answer, as Step Functions
  does when a job ends; moto's SageMaker records the job (nothing runs);
- so no job writes the reports a Choice reads (`s3://<bucket>/runs/<execution>/<Step>/<output>/value.json`): the
  tests upload their contents before the execution starts;
- nothing runs, so nothing takes time: Wait states (the 30 s between two looks at a new endpoint) pass at once;
- moto's Lambda runs no code without Docker and answers each invocation with its payload: the patch below adds the
  fields ANSWERS.json gives for the function (the outputs the real one would add); an approval's task token is
  answered by `sluice aws approve`, as the e-mailed link would;
- moto's `aws-sdk:s3:getObject` leaves the object's `Body` a stream where Step Functions gives its text: the patch
  below reads it (and AWS_RESPONSE_CHECKSUM_VALIDATION=when_required keeps botocore from wrapping it further).
The model package groups a registration names, the functions, the role and the bucket are created by `setup.py`, as
the exported template would.
"""
import json, logging, os, sys, threading

os.environ["AWS_RESPONSE_CHECKSUM_VALIDATION"] = "when_required"
port = int(sys.argv[1])
answers = json.load(open(sys.argv[2])) if len(sys.argv) > 2 else {}
os.environ["MOTO_PORT"] = str(port)

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


def stand_in_invoke(self, function_name, qualifier, body, headers, response_headers):
    payload = json.loads(body or "{}")
    return json.dumps({**payload, **answers.get(function_name.split(":")[-1], {})}).encode()


LambdaSimpleBackend.invoke = stand_in_invoke
server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
server.start()
print("listening", flush=True)
# Serves until the test kills this process.
threading.Event().wait()
