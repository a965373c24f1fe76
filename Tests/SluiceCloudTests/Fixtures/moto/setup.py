"""Prepares a moto server for a test, as a user's own deployment (or the exported template) would.

Usage: setup.py URL [--function NAME]... [--bucket NAME]... [--group NAME]... [--object BUCKET/KEY=TEXT]...
Waits for the server, enables Step Functions execution (with Lambda run without Docker) through POST
/moto-api/config, creates the IAM role machines run as, a Lambda function per --function (a handler that returns
its event; moto answers without running it), each bucket, model package group and object, and an SNS topic for
notices. Prints {"role": ARN, "topic": ARN}. Keys are moto's defaults (test/test); AWS_CA_BUNDLE is honoured.
"""
import argparse, io, json, os, ssl, time, urllib.request, zipfile

import boto3

parser = argparse.ArgumentParser()
parser.add_argument("url")
parser.add_argument("--function", action="append", default=[])
parser.add_argument("--bucket", action="append", default=[])
parser.add_argument("--group", action="append", default=[])
parser.add_argument("--object", action="append", default=[])
arguments = parser.parse_args()
url = arguments.url
context = ssl.create_default_context(cafile=os.environ.get("AWS_CA_BUNDLE"))
for _ in range(600):
    try:
        urllib.request.urlopen(url + "/moto-api/", context=context)
        break
    except Exception:
        time.sleep(0.1)
config = {"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}
urllib.request.urlopen(urllib.request.Request(url + "/moto-api/config", data=json.dumps(config).encode(),
                                              method="POST"), context=context)
options = dict(endpoint_url=url, region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test")
role = boto3.client("iam", **options).create_role(RoleName="sluice", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
archive = io.BytesIO()
with zipfile.ZipFile(archive, "w") as files:
    files.writestr("index.py", "def handler(event, context):\n    return event\n")
functions = boto3.client("lambda", **options)
for name in arguments.function:
    functions.create_function(FunctionName=name, Runtime="python3.12", Role=role, Handler="index.handler",
                              Code={"ZipFile": archive.getvalue()})
s3 = boto3.client("s3", **options)
for name in arguments.bucket:
    s3.create_bucket(Bucket=name)
for entry in arguments.object:
    place, text = entry.split("=", 1)
    bucket, key = place.split("/", 1)
    s3.put_object(Bucket=bucket, Key=key, Body=text.encode())
sagemaker = boto3.client("sagemaker", **options)
for name in arguments.group:
    sagemaker.create_model_package_group(ModelPackageGroupName=name)
topic = boto3.client("sns", **options).create_topic(Name="sluice-notices")["TopicArn"]
print(json.dumps({"role": role, "topic": topic}))
