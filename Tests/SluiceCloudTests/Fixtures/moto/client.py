"""boto3's side of the tests against moto's server (S3 objects, a Lambda function's settings):
python client.py ENDPOINT COMMAND ARGS…

Keys come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY.
"""
import base64
import hashlib
import json
import sys
import zlib

import boto3

endpoint, command, args = sys.argv[1], sys.argv[2], sys.argv[3:]


def client(service):
    return boto3.client(service, endpoint_url=endpoint, region_name="us-east-1")


def sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


if command == "iam-user":
    # moto's first INITIAL_NO_AUTH_ACTION_COUNT calls are free: a user, an inline policy allowing all, its keys.
    iam = client("iam")
    iam.create_user(UserName="sluice-test")
    iam.put_user_policy(
        UserName="sluice-test", PolicyName="all",
        PolicyDocument=json.dumps({"Version": "2012-10-17",
                                   "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
    key = iam.create_access_key(UserName="sluice-test")["AccessKey"]
    print(json.dumps({"key": key["AccessKeyId"], "secret": key["SecretAccessKey"]}))
elif command == "make-bucket":
    client("s3").create_bucket(Bucket=args[0])
elif command == "upload":
    bucket, key, path = args
    client("s3").upload_file(path, bucket, key)
elif command == "upload-many":
    bucket, pairs = args[0], args[1:]
    for key, path in zip(pairs[::2], pairs[1::2]):
        client("s3").upload_file(path, bucket, key)
elif command == "download":
    bucket, key, path = args
    client("s3").download_file(bucket, key, path)
    print(sha256(path))
elif command == "list":
    bucket, prefix = args
    pages = client("s3").get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    for page in pages:
        for entry in page.get("Contents", []):
            print(entry["Key"])
elif command == "cat":
    sys.stdout.write(client("s3").get_object(Bucket=args[0], Key=args[1])["Body"].read().decode())
elif command == "delete":
    client("s3").delete_object(Bucket=args[0], Key=args[1])
elif command == "etag":
    print(client("s3").head_object(Bucket=args[0], Key=args[1])["ETag"])
elif command == "checksum":
    # The object's CRC-32 as the store keeps it, or nothing. S3 adds `-N` to a multipart object's, moto does not:
    # printed without it.
    head = client("s3").head_object(Bucket=args[0], Key=args[1], ChecksumMode="ENABLED")
    print(head.get("ChecksumCRC32", "").split("-")[0])
elif command == "crc32":
    # A file's CRC-32 as S3 writes it; with a part size, the multipart form: the CRC-32 of the parts' CRC-32s.
    path, part_size = args[0], int(args[1]) if len(args) > 1 else 0
    data = open(path, "rb").read()
    if part_size == 0:
        print(base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode())
    else:
        parts = [data[i:i + part_size] for i in range(0, len(data), part_size)]
        crcs = b"".join(zlib.crc32(part).to_bytes(4, "big") for part in parts)
        print(base64.b64encode(zlib.crc32(crcs).to_bytes(4, "big")).decode())
elif command == "function":
    configuration = client("lambda").get_function(FunctionName=args[0])["Configuration"]
    print(json.dumps({key: configuration.get(key) for key in ["Handler", "Runtime", "Role", "CodeSize"]}))
elif command == "sha256":
    print(sha256(args[0]))
else:
    sys.exit(f"unknown command {command}")
