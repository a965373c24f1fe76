# Writes xgb_wine.json: XGBClassifier(objective='multi:softprob', tree_method='hist', n_estimators=5, max_depth=3,
# n_jobs=2) fitted on the first 124 rows of wine.csv (raw features), saved with save_model; prints
# predict_proba of rows 124..133 (the first 10 test rows), to be compared by XGBoostImportTests.
import numpy as np, xgboost
from xgboost import XGBClassifier
data = np.loadtxt('wine.csv', delimiter=',', skiprows=1)
X, y = data[:, :-1], data[:, -1].astype(int)
m = XGBClassifier(objective='multi:softprob', tree_method='hist', n_estimators=5, max_depth=3, n_jobs=2)
m.fit(X[:124], y[:124])
m.save_model('xgb_wine.json')
print('xgboost', xgboost.__version__)
for row in m.predict_proba(X[124:134]):
    print(', '.join(repr(float(v)) for v in row) + ',')
