"""S3CSVDataLoader: checks the data set's schema and splits it 70/15/15 into train, test and validation.

The event holds the module's inputs: `S3DataSource` is the local copy Sluice fetched of the s3:// object. Writes
`output/data/{train,test,validation}.csv` in the form SageMaker's XGBoost reads for training: label first, no header.
A schema problem raises SchemaError naming the file, the row and the column.
"""

import csv
import json
import os
import random

LABEL = "churn"
FEATURES = ["tenure_months", "monthly_charges", "support_calls", "contract_months", "data_usage_gb"]


class SchemaError(Exception):
    pass


def read_rows(path):
    with open(path, newline="") as source:
        rows = list(csv.reader(source))
    if not rows:
        raise SchemaError(f"{path}: the file is empty; expected a header {','.join([LABEL] + FEATURES)}")
    header = [name.strip() for name in rows[0]]
    missing = [name for name in [LABEL] + FEATURES if name not in header]
    if missing:
        raise SchemaError(f"{path}, row 1: missing column(s) {', '.join(missing)}; the header is {','.join(header)}")
    order = [header.index(name) for name in [LABEL] + FEATURES]
    data = []
    for number, row in enumerate(rows[1:], start=2):
        if not row:
            continue
        if len(row) != len(header):
            raise SchemaError(f"{path}, row {number}: {len(row)} fields but the header has {len(header)}")
        values = [row[index].strip() for index in order]
        for name, value in zip([LABEL] + FEATURES, values):
            try:
                float(value)
            except ValueError:
                raise SchemaError(f"{path}, row {number}, column '{name}': '{value}' is not a number") from None
        if values[0] not in ("0", "1"):
            raise SchemaError(f"{path}, row {number}, column '{LABEL}': '{values[0]}' is not 0 or 1")
        data.append(values)
    if len(data) < 20:
        raise SchemaError(f"{path}: {len(data)} data rows; a 70/15/15 split needs at least 20")
    return data


def main(event, context):
    source = event["S3DataSource"]
    rows = read_rows(source)
    random.Random(0).shuffle(rows)
    train_end = int(len(rows) * 0.70)
    test_end = train_end + int(len(rows) * 0.15)
    parts = {"train": rows[:train_end], "test": rows[train_end:test_end], "validation": rows[test_end:]}
    folder = os.path.abspath(os.path.join("output", "data"))
    os.makedirs(folder, exist_ok=True)
    for name, part in parts.items():
        with open(os.path.join(folder, name + ".csv"), "w", newline="") as out:
            csv.writer(out, lineterminator="\n").writerows(part)
    status = {"status": "Succeeded", "rows": len(rows), **{name: len(part) for name, part in parts.items()}}
    print(json.dumps(status))
    return {"ResultStatus": status, "S3OutputArtifactUri": folder}
