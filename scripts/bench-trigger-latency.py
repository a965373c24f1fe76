#!/usr/bin/env python3
"""Trigger latency: a file complete in a watched folder -> its execution started, p50/p99.

Usage: scripts/bench-trigger-latency.py [--sluice .build/debug/sluice] [--files 50] [--mode rename|close]

Starts `sluice serve` in a temporary folder with one files trigger enabled, drops files one at a time, and reads each
execution's start time from `sluice executions --trigger … --format json`. With `--mode rename` (the default) each
file is written as NAME.tmp and renamed, so "complete" is the rename; with `--mode close` it is written in place in
two pieces 20 ms apart, and "complete" is its writer's close. Both times come from this machine's wall clock. Stops
the server it started, by its pid.
"""
import argparse, datetime, json, os, signal, subprocess, sys, tempfile, time

parser = argparse.ArgumentParser()
parser.add_argument("--sluice", default=os.path.abspath(".build/debug/sluice"))
parser.add_argument("--files", type=int, default=50)
parser.add_argument("--mode", choices=["rename", "close"], default="rename")
arguments = parser.parse_args()

folder = tempfile.mkdtemp(prefix="sluice-trigger-bench-")
os.makedirs(os.path.join(folder, "incoming"))
os.makedirs(os.path.join(folder, "modules"))
with open(os.path.join(folder, "modules", "echo.yaml"), "w") as f:
    f.write("name: Echo\nimplementation: {builtin: echo}\ninputs: [{name: value, type: String}]\n"
            "outputs: [{name: value, type: String}]\n")
with open(os.path.join(folder, "bench.yaml"), "w") as f:
    f.write("name: Bench\nmodules: [modules]\nmax_concurrent_executions: 8\n"
            "parameters: [{name: File, type: String, default: ''}]\n"
            "triggers: [{files: incoming, glob: '*.csv', parameter: File}]\n"
            "steps: [{name: Echo, module: Echo, inputs: {value: $.parameters.File}}]\n")
environment = dict(os.environ, SLUICE_HOME=os.path.join(folder, ".sluice"), SLUICE_DURABILITY="process")


def seconds(iso):
    """Seconds since 1970 from the ISO 8601 time `sluice executions` prints (None stays None)."""
    return iso and datetime.datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def sluice(*args):
    return subprocess.run([arguments.sluice, *args], cwd=folder, env=environment, capture_output=True, text=True,
                          check=True).stdout


sluice("triggers", "enable", "bench.yaml")
server = subprocess.Popen([arguments.sluice, "serve", "--port", "0"], cwd=folder, env=environment,
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
try:
    time.sleep(1.5)  # the server opens its store and reads the enabled triggers
    completed = {}
    for index in range(arguments.files):
        path = os.path.join(folder, "incoming", "f%03d.csv" % index)
        if arguments.mode == "rename":
            with open(path + ".tmp", "w") as f:
                f.write("x\n%d\n" % index)
            os.rename(path + ".tmp", path)
        else:
            with open(path, "w") as f:
                f.write("x\n")
                f.flush()
                time.sleep(0.02)
                f.write("%d\n" % index)
        completed[path] = time.time()
        time.sleep(0.25)
    deadline = time.time() + 120
    while True:
        listed = json.loads(sluice("executions", "--trigger", "Bench:1", "--limit", "100000", "--format", "json"))
        started = {e["parameters"]["File"]: seconds(e.get("startedAt")) for e in listed}
        if all(started.get(p) for p in completed) or time.time() > deadline:
            break
        time.sleep(0.2)
finally:
    server.send_signal(signal.SIGTERM)
    server.wait()

latencies = sorted((started[p] - t) * 1000 for p, t in completed.items() if started.get(p))
if len(latencies) < len(completed):
    sys.exit("only %d of %d files started an execution" % (len(latencies), len(completed)))
pick = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))]
print("trigger latency (%s), file complete -> execution started, %d files: p50 %.1f ms  p99 %.1f ms  max %.1f ms"
      % (arguments.mode, len(latencies), pick(0.5), pick(0.99), latencies[-1]))
