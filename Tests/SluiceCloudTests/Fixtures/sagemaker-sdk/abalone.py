"""W2 (examples/w2-abalone/pipeline.yaml) written with SageMaker's Python SDK, the way AWS's abalone example does,
built offline: no credentials, no calls (the session's default bucket is set, so nothing asks S3 for it).

Usage: abalone.py SLUICE_DEFINITION.json
Prints one JSON object: {"sdk": <summary>, "sluice": <summary>}, where a summary keeps what the two must agree on:
parameters, steps (type, the steps each one reads from, property files), conditions (operator, operands, the
steps on each branch) and Fail messages.
"""
import json
import logging
import sys
import warnings

warnings.filterwarnings("ignore")
logging.disable(logging.CRITICAL)

import boto3
from sagemaker.estimator import Estimator
from sagemaker.inputs import TrainingInput
from sagemaker.model_metrics import MetricsSource, ModelMetrics
from sagemaker.processing import ProcessingInput, ProcessingOutput, Processor
from sagemaker.workflow.condition_step import ConditionStep
from sagemaker.workflow.conditions import ConditionLessThanOrEqualTo
from sagemaker.workflow.fail_step import FailStep
from sagemaker.workflow.functions import Join, JsonGet
from sagemaker.workflow.parameters import ParameterFloat, ParameterInteger, ParameterString
from sagemaker.workflow.pipeline import Pipeline
from sagemaker.workflow.pipeline_context import PipelineSession
from sagemaker.workflow.properties import PropertyFile
from sagemaker.workflow.step_collections import RegisterModel
from sagemaker.workflow.steps import ProcessingStep, TrainingStep

boto = boto3.Session(region_name="us-east-1", aws_access_key_id="offline", aws_secret_access_key="offline")
session = PipelineSession(boto_session=boto, default_bucket="sluice-artifacts")
session._default_bucket = "sluice-artifacts"
role = "arn:aws:iam::123456789012:role/sluice"
image = "123456789012.dkr.ecr.us-east-1.amazonaws.com/sluice:latest"

processing_instance_count = ParameterInteger(name="ProcessingInstanceCount", default_value=1)
training_instance_count = ParameterInteger(name="TrainingInstanceCount", default_value=1)
model_approval_status = ParameterString(name="ModelApprovalStatus", default_value="Approved")
mse_threshold = ParameterFloat(name="MseThreshold", default_value=6.0)
input_data = ParameterString(name="InputData", default_value="s3://${ArtifactBucket}/inputs/data/abalone.csv")


def processor(count):
    return Processor(image_uri=image, role=role, instance_count=count, instance_type="ml.m5.large",
                     sagemaker_session=session)


def output(name):
    return ProcessingOutput(output_name=name, source=f"/opt/ml/processing/output/{name}")


def source(step, name):
    return step.properties.ProcessingOutputConfig.Outputs[name].S3Output.S3Uri


split = ProcessingStep(name="Split", step_args=processor(1).run(
    inputs=[ProcessingInput(source=input_data, destination="/opt/ml/processing/input/data")],
    outputs=[output("train"), output("validation"), output("test")]))

preprocess = ProcessingStep(name="Preprocess", step_args=processor(processing_instance_count).run(
    inputs=[ProcessingInput(source=source(split, "train"), destination="/opt/ml/processing/input/train"),
            ProcessingInput(source=source(split, "validation"), destination="/opt/ml/processing/input/validation")],
    outputs=[output("train"), output("validation"), output("transforms")]))

estimator = Estimator(image_uri=image, role=role, instance_count=training_instance_count,
                      instance_type="ml.m5.large", output_path="s3://sluice-artifacts/runs/",
                      hyperparameters={"epochs": "2000", "layers": "2", "dense_layer": "64", "batch_size": "8"},
                      sagemaker_session=session)
train = TrainingStep(name="Train", step_args=estimator.fit(inputs={
    "training": TrainingInput(s3_data=source(preprocess, "train")),
    "validation": TrainingInput(s3_data=source(preprocess, "validation")),
    "transforms": TrainingInput(s3_data=Join(on="", values=[source(preprocess, "transforms"), "value.json"])),
}))

metrics = PropertyFile(name="metrics", output_name="metrics", path="value.json")
evaluate = ProcessingStep(name="Evaluate", step_args=processor(1).run(
    inputs=[ProcessingInput(source=train.properties.ModelArtifacts.S3ModelArtifacts,
                            destination="/opt/ml/processing/input/model"),
            ProcessingInput(source=source(split, "test"), destination="/opt/ml/processing/input/test")],
    outputs=[output("report"), output("metrics")]), property_files=[metrics])

register = RegisterModel(
    name="Register", estimator=estimator, model_data=train.properties.ModelArtifacts.S3ModelArtifacts,
    content_types=["text/csv", "application/json"], response_types=["text/csv", "application/json"],
    inference_instances=["ml.m5.large"], transform_instances=["ml.m5.large"],
    model_package_group_name="AbalonePackageGroup", approval_status=model_approval_status,
    model_metrics=ModelMetrics(model_statistics=MetricsSource(
        s3_uri=Join(on="", values=[source(evaluate, "report"), "value.json"]), content_type="application/json")))

# Model Monitor's baseline of the registered version, from the training rows (Sluice's `monitor.baseline` step).
baseline = ProcessingStep(name="Baseline", step_args=Processor(
    image_uri=image, role=role, instance_count=1, instance_type="ml.m5.large", sagemaker_session=session,
    env={"SLUICE_INPUT_MODELVERSION": Join(on="/", values=[register.steps[-1].properties.ModelPackageGroupName,
                                                          register.steps[-1].properties.ModelPackageVersion])}).run(
    inputs=[ProcessingInput(source=source(split, "train"), destination="/opt/ml/processing/input/Data")],
    outputs=[output("Statistics"), output("Constraints"), output("ModelVersion")]))

too_high = FailStep(name="MSE Too High", error_message=Join(
    on="", values=["Execution failed due to MSE greater than ", mse_threshold]))

check = ConditionStep(
    name="Check MSE",
    conditions=[ConditionLessThanOrEqualTo(
        left=JsonGet(step_name=evaluate.name, property_file=metrics, json_path="regression_metrics.mse.value"),
        right=mse_threshold)],
    if_steps=[register, baseline], else_steps=[too_high])

pipeline = Pipeline(
    name="AbaloneRegression",
    parameters=[processing_instance_count, training_instance_count, model_approval_status, mse_threshold, input_data],
    steps=[split, preprocess, train, evaluate, check], sagemaker_session=session)
sdk_definition = json.loads(pipeline.definition())


def step_name(name):
    # A RegisterModel step collection names its step "<name>-RegisterModel".
    return name[: -len("-RegisterModel")] if name.endswith("-RegisterModel") else name


def operand(value):
    """A condition operand or message part, with references kept and step names normalised."""
    if isinstance(value, dict) and "Get" in value:
        return {"Get": value["Get"]}
    if isinstance(value, dict) and "Std:JsonGet" in value:
        get = value["Std:JsonGet"]
        return {"JsonGet": operand(get["PropertyFile"]), "Path": get["Path"]}
    if isinstance(value, dict) and "Std:Join" in value:
        join = value["Std:Join"]
        return {"Join": join["On"], "Values": [operand(v) for v in join["Values"]]}
    return value


def references(value, found):
    """Every step a value reads from (`{"Get": "Steps.<name>...."}`)."""
    if isinstance(value, dict):
        get = value.get("Get")
        if isinstance(get, str) and get.startswith("Steps."):
            found.add(step_name(get[len("Steps."):].split(".")[0]))
        for item in value.values():
            references(item, found)
    elif isinstance(value, list):
        for item in value:
            references(item, found)
    return found


def summary(definition):
    steps = {}

    def visit(step, branch):
        arguments = step.get("Arguments", {})
        entry = {"Type": step["Type"], "Branch": branch,
                 "ReadsFrom": sorted(references(arguments, set()) | {step_name(d) for d in step.get("DependsOn", [])}),
                 "PropertyFiles": sorted(json.dumps(p, sort_keys=True) for p in step.get("PropertyFiles", []))}
        if step["Type"] == "Condition":
            entry["Conditions"] = [{"Type": c["Type"], "Left": operand(c["LeftValue"]), "Right": operand(c["RightValue"])}
                                   for c in arguments["Conditions"]]
            entry["If"] = [step_name(s["Name"]) for s in arguments.get("IfSteps", [])]
            entry["Else"] = [step_name(s["Name"]) for s in arguments.get("ElseSteps", [])]
            for inner in arguments.get("IfSteps", []):
                visit(inner, step["Name"] + " if")
            for inner in arguments.get("ElseSteps", []):
                visit(inner, step["Name"] + " else")
        if step["Type"] == "Fail":
            entry["ErrorMessage"] = operand(arguments.get("ErrorMessage"))
        if step["Type"] == "RegisterModel":
            entry["ModelPackageGroupName"] = arguments.get("ModelPackageGroupName")
            entry["ModelApprovalStatus"] = operand(arguments.get("ModelApprovalStatus"))
        steps[step_name(step["Name"])] = entry

    for step in definition["Steps"]:
        visit(step, "main")
    parameters = sorted([p["Name"], p["Type"], p.get("DefaultValue")] for p in definition["Parameters"])
    return {"Version": definition["Version"], "Parameters": parameters, "Steps": steps}


sluice_definition = json.load(open(sys.argv[1]))
print(json.dumps({"sdk": summary(sdk_definition), "sluice": summary(sluice_definition)}, sort_keys=True))
