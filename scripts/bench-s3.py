"""Benchmark (not a test): a 200 MB upload and download through `sluice s3 cp` and through boto3's
upload_file/download_file, against the same moto S3 server, in the same run.

    python "$(scripts/moto-venv)" scripts/bench-s3.py [--sluice .build/release/sluice] [--megabytes 200]

Prints each client's best and median time, the ratios sluice / boto3 (below 1 means Sluice was faster), and the CPU
time moto's server spent on each client's transfers (median): the server is the bottleneck, and its CPU time is far
less sensitive to other load on the machine than the wall-clock times are.
"""
import argparse
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

import boto3

parser = argparse.ArgumentParser()
parser.add_argument("--sluice", default=".build/release/sluice")
parser.add_argument("--megabytes", type=int, default=200)
parser.add_argument("--rounds", type=int, default=9)
options = parser.parse_args()
sluice = os.path.abspath(options.sluice)

with socket.socket() as probe:
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
endpoint = f"http://127.0.0.1:{port}"
scratch = tempfile.mkdtemp(prefix="sluice-bench-s3-")
environment = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
environment.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_ENDPOINT_URL_S3=endpoint,
                   MOTO_PORT=str(port), HOME=scratch, SLUICE_HOME=os.path.join(scratch, ".sluice"))
server = subprocess.Popen([os.path.join(os.path.dirname(sys.executable), "moto_server"), "-H", "127.0.0.1", "-p",
                           str(port)], env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
try:
    while True:
        try:
            socket.create_connection(("127.0.0.1", port)).close()
            break
        except OSError:
            time.sleep(0.05)
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="bench",
                      aws_secret_access_key="bench")
    s3.create_bucket(Bucket="bench")
    source = os.path.join(scratch, "data.bin")
    with open(source, "wb") as f:
        for _ in range(options.megabytes):
            f.write(os.urandom(1 << 20))
    expected = hashlib.sha256(open(source, "rb").read()).hexdigest()

    def server_cpu():
        fields = open(f"/proc/{server.pid}/stat").read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    figures, server_seconds = {}, {}

    def timed(name, action):
        """Runs `action`, adding its wall time to figures[name] and moto's CPU time to server_seconds[name]."""
        cpu, start = server_cpu(), time.perf_counter()
        action()
        figures.setdefault(name, []).append(time.perf_counter() - start)
        server_seconds.setdefault(name, []).append(server_cpu() - cpu)

    def check(path):
        assert hashlib.sha256(open(path, "rb").read()).hexdigest() == expected, path

    def run_sluice(*arguments):
        subprocess.run([sluice, "s3", "cp", *arguments], env=environment, cwd=scratch, check=True,
                       stdout=subprocess.DEVNULL)

    target = os.path.join(scratch, "out.bin")
    for _ in range(options.rounds):
        timed("boto3 upload", lambda: s3.upload_file(source, "bench", "boto3.bin"))
        timed("sluice upload", lambda: run_sluice(source, "s3://bench/sluice.bin"))
        timed("boto3 download", lambda: s3.download_file("bench", "sluice.bin", target))
        check(target)
        os.remove(target)
        timed("sluice download", lambda: run_sluice("s3://bench/boto3.bin", target))
        check(target)
        os.remove(target)
    best = {name: min(times) for name, times in figures.items()}
    median = {name: sorted(times)[len(times) // 2] for name, times in figures.items()}
    for name, seconds in best.items():
        cpu = sorted(server_seconds[name])[len(server_seconds[name]) // 2]
        print(f"{name:16s} best {seconds:6.3f} s ({options.megabytes / seconds:6.1f} MB/s), median {median[name]:6.3f} s"
              f" of {options.rounds}; moto's CPU {cpu:.2f} s (median)")
    for direction in ("upload", "download"):
        print(f"{direction}: sluice / boto3 = {best[f'sluice {direction}'] / best[f'boto3 {direction}']:.3f} (best),"
              f" {median[f'sluice {direction}'] / median[f'boto3 {direction}']:.3f} (median)")
finally:
    server.send_signal(signal.SIGTERM)
    try:
        server.wait(timeout=5)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()
    shutil.rmtree(scratch, ignore_errors=True)
