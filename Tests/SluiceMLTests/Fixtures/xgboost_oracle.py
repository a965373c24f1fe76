# Oracle for XGBoostTrainingTests, run with the venv's python (xgboost-cpu==3.2.0, see scripts/python-tools).
#   predict MODEL.json DATA.csv            -> one prediction per line from XGBoost loading Sluice's model file
#   train PARAMS.json TRAIN.csv TEST.csv   -> XGBoost trained with the same hyperparameters; test predictions
# CSV files have no header; in TRAIN.csv the label is the first column (as SageMaker's XGBoost reads CSV).
import json, sys
import numpy as np
import xgboost

mode = sys.argv[1]
if mode == "predict":
    booster = xgboost.Booster(model_file=sys.argv[2])
    x = np.loadtxt(sys.argv[3], delimiter=",", ndmin=2)
    predictions = booster.predict(xgboost.DMatrix(x))
else:
    params = json.load(open(sys.argv[2]))
    rounds = int(params.pop("num_round"))
    params.update({"tree_method": "hist", "nthread": 2})
    train = np.loadtxt(sys.argv[3], delimiter=",", ndmin=2)
    booster = xgboost.train(params, xgboost.DMatrix(train[:, 1:], label=train[:, 0]), num_boost_round=rounds)
    predictions = booster.predict(xgboost.DMatrix(np.loadtxt(sys.argv[4], delimiter=",", ndmin=2)))
for p in np.asarray(predictions).reshape(len(predictions), -1):
    print(",".join(repr(float(v)) for v in p))
