"""Benchmark (not a test): GBDT fit, 100 trees of depth 6, on the 1M-row classification set (first 80 % train),
Sluice (`sluice-bench bench-train`, its `xgb_fit` phase) against XGBoost's `hist` method on as many threads,
alternating round by round so both see the same machine.

    scripts/python-tools   # xgboost-cpu 3.2.0 in ~/.cache/sluice-test/venv
    ~/.cache/sluice-test/venv/bin/python scripts/bench-gbdt.py \
        --sluice-bench .build/release/sluice-bench --data ~/.cache/sluice-bench/data [--rounds 3] [--threads 2]

The data set is gen_data.py's (../shared/bench/peers/): classification_1M.csv in --data.

XGBoost's time covers what `XGBClassifier.fit` does with `tree_method="hist"`: the quantile matrix and the 100
rounds (eta 0.3, max_bin 256, binary:logistic), as Sluice's covers binning and the trees. Prints each round and
the ratio sluice / xgboost (0.5 means Sluice took half XGBoost's time) with both holdout AUCs.
"""
import argparse
import json
import os
import subprocess
import time

import numpy as np
import xgboost as xgb

parser = argparse.ArgumentParser()
parser.add_argument("--sluice-bench", default=".build/release/sluice-bench")
parser.add_argument("--data", default=os.path.expanduser("~/.cache/sluice-bench/data"))
parser.add_argument("--rounds", type=int, default=3)
parser.add_argument("--threads", type=int, default=os.cpu_count())
options = parser.parse_args()

path = os.path.join(options.data, "classification_1M.csv")
table = np.loadtxt(path, delimiter=",", skiprows=1)
k = len(table) * 8 // 10
x_train, y_train = table[:k, :-1], table[:k, -1]
x_test, y_test = table[k:, :-1], table[k:, -1]


def auc(labels, scores):
    """ROC AUC by ranks (ties averaged)."""
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores))
    sorted_scores = scores[order]
    start = 0
    while start < len(scores):
        end = start
        while end + 1 < len(scores) and sorted_scores[end + 1] == sorted_scores[start]:
            end += 1
        ranks[order[start:end + 1]] = (start + end) / 2 + 1
        start = end + 1
    positives = labels == 1
    count = positives.sum()
    return (ranks[positives].sum() - count * (count + 1) / 2) / (count * (len(labels) - count))


def xgboost_fit():
    start = time.perf_counter()
    matrix = xgb.QuantileDMatrix(x_train, y_train, max_bin=256, nthread=options.threads)
    booster = xgb.train({"tree_method": "hist", "max_depth": 6, "eta": 0.3, "objective": "binary:logistic",
                         "nthread": options.threads, "max_bin": 256}, matrix, num_boost_round=100)
    seconds = time.perf_counter() - start
    return seconds, auc(y_test, booster.predict(xgb.DMatrix(x_test, nthread=options.threads)))


def sluice_fit():
    environment = dict(os.environ, SLUICE_THREADS=str(options.threads))
    result = subprocess.run(
        [options.sluice_bench, "bench-train", "--data", options.data, "--only", "classification_1M"],
        env=environment, check=True, capture_output=True, text=True)
    line = json.loads(result.stdout.strip().splitlines()[-1])["results"][0]
    return line["best_wall_s"]["xgb_fit"], line["metrics"]["xgb_auc"]


ratios = []
for round_number in range(1, options.rounds + 1):
    peer, peer_auc = xgboost_fit()
    ours, our_auc = sluice_fit()
    ratios.append(ours / peer)
    print(f"round {round_number}: xgboost hist {peer:.2f} s (AUC {peer_auc:.5f}), sluice {ours:.2f} s "
          f"(AUC {our_auc:.5f}), sluice / xgboost {ours / peer:.2f}", flush=True)
print(f"median sluice / xgboost: {sorted(ratios)[len(ratios) // 2]:.2f} over {len(ratios)} rounds "
      f"({options.threads} threads)")
