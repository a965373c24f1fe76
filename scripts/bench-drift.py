#!/usr/bin/env python3
"""Drift report speed: Sluice's monitor against Evidently 0.7.23 on the same data, in the same run.

Generates (seeded) a 100,000-row reference and a 1,000,000-row current data set of 10 features (8 numerical, some
shifted or rescaled; 2 categorical, one with changed proportions), writes them as CSV, then times
  - Evidently: Report([DataDriftPreset()]).run(current, reference) on DataFrames read from those files;
  - Sluice: `sluice-bench bench-drift` (the monitor's report: constraint checks and drift with Evidently's default
    tests) on the same files, data already read.
Prints both times, the ratio, and each column's verdict from both; exits 1 when a verdict differs.

Usage: scripts/bench-drift.py [--sluice-bench .build/release/sluice-bench] [--rows 1000000] [--reference-rows 100000]
Run it with Evidently's python: `$(scripts/evidently-venv) scripts/bench-drift.py`.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import pandas as pd
from evidently import DataDefinition, Dataset, Report
from evidently.presets import DataDriftPreset

NUMERICAL = ["n0", "n1", "n2", "n3", "n4", "n5", "n6", "n7"]
CATEGORICAL = ["c8", "c9"]


def generate(rng, rows, current):
    """One data set; the current one has n3 and n6 shifted, n4 rescaled and c9's proportions changed."""
    shift = {"n3": 0.3, "n6": 0.5} if current else {}
    data = {}
    for name in NUMERICAL:
        if name == "n7":
            values = rng.exponential(2.0, rows)
        else:
            values = rng.normal(0.0, 1.5 if (current and name == "n4") else 1.0, rows) + shift.get(name, 0.0)
            values += {"n1": 0.02, "n2": 0.05}.get(name, 0.0) if current else 0.0
        data[name] = np.round(values, 6)
    data["c8"] = rng.choice(["a", "b", "c", "d"], rows)
    proportions = [0.4, 0.3, 0.2, 0.1] if current else [0.25, 0.25, 0.25, 0.25]
    data["c9"] = rng.choice(["w", "x", "y", "z"], rows, p=proportions)
    return pd.DataFrame(data)


def evidently_verdicts(snapshot):
    verdicts = {}
    for metric in snapshot.dict()["metrics"]:
        config = metric["config"]
        if config.get("type") != "evidently:metric_v2:ValueDrift":
            continue
        method = config["method"]
        value = float(metric["value"])
        threshold = float(config["threshold"])
        # p-value tests drift below the threshold, distances at or above it.
        is_p_value = "p_value" in method or "test" in method.lower()
        verdicts[config["column"]] = {
            "method": method, "value": value, "drifted": value < threshold if is_p_value else value >= threshold}
    return verdicts


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sluice-bench", default=".build/release/sluice-bench")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--reference-rows", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3, help="runs of each side; the best is compared")
    arguments = parser.parse_args()

    rng = np.random.default_rng(20261204)
    with tempfile.TemporaryDirectory(prefix="sluice-bench-drift-") as folder:
        reference_path = os.path.join(folder, "reference.csv")
        current_path = os.path.join(folder, "current.csv")
        generate(rng, arguments.reference_rows, current=False).to_csv(reference_path, index=False)
        generate(rng, arguments.rows, current=True).to_csv(current_path, index=False)

        reference = pd.read_csv(reference_path)
        current = pd.read_csv(current_path)
        definition = DataDefinition(numerical_columns=NUMERICAL, categorical_columns=CATEGORICAL)
        evidently_best = None
        for _ in range(arguments.repeats):
            start = time.perf_counter()
            snapshot = Report([DataDriftPreset()]).run(
                Dataset.from_pandas(current, data_definition=definition),
                Dataset.from_pandas(reference, data_definition=definition))
            elapsed = time.perf_counter() - start
            evidently_best = elapsed if evidently_best is None else min(evidently_best, elapsed)
        theirs = evidently_verdicts(snapshot)

        output = subprocess.run(
            [arguments.sluice_bench, "bench-drift", "--reference", reference_path, "--current", current_path,
             "--repeats", str(arguments.repeats)],
            check=True, capture_output=True, text=True).stdout
        sluice = json.loads(output.strip().splitlines()[-1])
        ours = {column["column"]: column for column in sluice["columns"]}

    differing = []
    print(f"{'column':8} {'Sluice':>28} {'Evidently':>40}")
    for name in NUMERICAL + CATEGORICAL:
        mine, other = ours.get(name), theirs.get(name)
        if mine is None or other is None or mine["drifted"] != other["drifted"]:
            differing.append(name)
        describe = lambda c: "missing" if c is None else f"{c['method']} {c['value']:.4f} {'DRIFT' if c['drifted'] else 'ok'}"
        print(f"{name:8} {describe(mine):>28} {describe(other):>40}")
    ratio = evidently_best / sluice["report_seconds"]
    print(f"rows {sluice['rows']:,} current x {len(ours)} features vs {sluice['reference_rows']:,} reference")
    print(f"Evidently 0.7.23 report: {evidently_best:.3f} s (best of {arguments.repeats})")
    print(f"Sluice report:           {sluice['report_seconds']:.3f} s (best of {arguments.repeats}; "
          f"CSV read {sluice['load_seconds']:.3f} s, baseline {sluice['baseline_seconds']:.3f} s)")
    print(f"ratio: Sluice {ratio:.1f}x faster; dataset drift: Sluice {sluice['dataset_drift']}")
    if differing:
        print("verdicts differ on: " + ", ".join(differing))
        sys.exit(1)
    print("same per-column verdicts")


if __name__ == "__main__":
    main()
