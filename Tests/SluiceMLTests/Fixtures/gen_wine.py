# Writes wine.csv: scikit-learn's wine set, rows reordered so the first 124 are the training part and the
# last 54 the test part of train_test_split(test_size=0.3, stratify=y, random_state=0); then reference figures.
import numpy as np, sklearn, xgboost
from sklearn.datasets import load_wine
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
from sklearn.linear_model import LogisticRegression
from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import accuracy_score, f1_score
from xgboost import XGBClassifier
d = load_wine()
X, y = d.data, d.target
idx = np.arange(len(y))
tr, te = train_test_split(idx, test_size=0.3, stratify=y, random_state=0)
order = np.concatenate([tr, te])
names = [n.replace('/', '_') for n in d.feature_names]
with open('wine.csv', 'w') as f:
    f.write(','.join(names + ['target']) + '\n')
    for i in order:
        f.write(','.join(repr(float(v)) for v in X[i]) + ',' + str(int(y[i])) + '\n')
Xtr, Xte, ytr, yte = X[tr], X[te], y[tr], y[te]
print('sklearn', sklearn.__version__, 'xgboost', xgboost.__version__, len(tr), len(te))
sc = StandardScaler().fit(Xtr)
lr = LogisticRegression(C=1.0, max_iter=10000).fit(sc.transform(Xtr), ytr)
p = lr.predict(sc.transform(Xte))
print('logistic acc', repr(accuracy_score(yte, p)), 'macro', repr(f1_score(yte, p, average='macro')), 'weighted', repr(f1_score(yte, p, average='weighted')))
xg = XGBClassifier(objective='multi:softprob', tree_method='hist', n_estimators=100, max_depth=6, n_jobs=2).fit(Xtr, ytr)
p = xg.predict(Xte)
print('xgb acc', repr(accuracy_score(yte, p)))
rf = RandomForestClassifier(n_estimators=100, random_state=0).fit(Xtr, ytr)
p = rf.predict(Xte)
print('rf acc', repr(accuracy_score(yte, p)))
yt = [0, 1, 2, 2, 1, 0, 3, 3, 1, 2]
yp = [0, 2, 2, 2, 1, 1, 3, 0, 1, 4]
from sklearn.metrics import precision_score, recall_score
for avg in ['macro', 'weighted']:
    print(avg, repr(f1_score(yt, yp, average=avg, zero_division=0)), repr(precision_score(yt, yp, average=avg, zero_division=0)), repr(recall_score(yt, yp, average=avg, zero_division=0)))
print('acc', repr(accuracy_score(yt, yp)))
# Sharper than accuracy: the penalised multinomial optimum is unique, so its test log loss is a fixed figure.
from sklearn.metrics import log_loss
tight = LogisticRegression(C=1.0, tol=1e-12, max_iter=100000).fit(sc.transform(Xtr), ytr)
print('logistic test log loss', repr(log_loss(yte, tight.predict_proba(sc.transform(Xte)))))
print('logistic intercepts', [repr(v) for v in tight.intercept_])
