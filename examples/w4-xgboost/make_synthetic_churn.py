"""Writes the synthetic customer-churn data set W4 trains on (no real customers: every row is drawn here).

data/customer-churn.csv: a header and 400 rows, `churn` (0 or 1) first, then five numeric features.
data/batch/part-1.csv, part-2.csv: 30 and 20 rows of features only, no header, as a batch transform reads them.
Deterministic (seeded), so running it again rewrites the same files.
"""

import math
import os
import random

COLUMNS = ["churn", "tenure_months", "monthly_charges", "support_calls", "contract_months", "data_usage_gb"]


def customer(rng):
    tenure = rng.randint(1, 72)
    charges = round(rng.uniform(20, 120), 2)
    calls = rng.randint(0, 9)
    contract = rng.choice([1, 12, 24])
    usage = round(rng.uniform(0.5, 60), 1)
    score = 0.2 - 0.05 * tenure + 0.02 * charges + 0.35 * calls - 0.08 * contract - 0.01 * usage
    churn = 1 if rng.random() < 1 / (1 + math.exp(-score)) else 0
    return [churn, tenure, charges, calls, contract, usage]


def write(path, rows, header=None):
    with open(path, "w") as out:
        if header:
            out.write(",".join(header) + "\n")
        for row in rows:
            out.write(",".join(str(value) for value in row) + "\n")


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    os.makedirs(os.path.join(here, "data", "batch"), exist_ok=True)
    rng = random.Random(20240)
    write(os.path.join(here, "data", "customer-churn.csv"), [customer(rng) for _ in range(400)], COLUMNS)
    for name, count in [("part-1.csv", 30), ("part-2.csv", 20)]:
        write(os.path.join(here, "data", "batch", name), [customer(rng)[1:] for _ in range(count)])


if __name__ == "__main__":
    main()
