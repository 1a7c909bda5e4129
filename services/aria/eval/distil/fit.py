# Ridge fit of a distilled table to e5 query vectors: fit.py TABLE OUT LAMBDA TRAIN.jsonl
# (rows of TABLE centred on its non-zero rows, scaled by one fitted factor, plus a
# correction for every token of the training sentences; 400 sentences held out).
import sys, json, numpy as np
src, dst, lam, train = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4]
raw = open(src,'rb').read(); head = raw[:16]
vocab, dims = np.frombuffer(raw[8:16], dtype='<u4')
T0 = np.frombuffer(raw[16:], dtype='<f4').reshape(vocab, dims).astype(np.float64)
nz = np.any(T0 != 0, axis=1)
T0c = np.zeros_like(T0); T0c[nz] = T0[nz] - T0[nz].mean(0)
rows = [json.loads(l) for l in open(train)]
rng = np.random.default_rng(0); idx = rng.permutation(len(rows)); test = set(idx[:400].tolist())
train_tok = sorted({i for k,r in enumerate(rows) if k not in test for i in r['ids']})
col = {t:j for j,t in enumerate(train_tok)}
def mats(sel):
    X = np.zeros((len(sel), len(train_tok))); Y = np.zeros((len(sel), dims)); P = np.zeros((len(sel), dims))
    for a,k in enumerate(sel):
        ids = rows[k]['ids']
        for i in ids:
            if i in col: X[a, col[i]] += 1/len(ids)
            P[a] += T0c[i]/len(ids)
        Y[a] = rows[k]['vec']
    return X, Y, P
tr = [k for k in range(len(rows)) if k not in test]; te = sorted(test)
X, Y, P = mats(tr)
alpha = (P*Y).sum()/(P*P).sum()
R = Y - alpha*P
D = np.linalg.solve(X.T@X + lam*np.eye(len(train_tok)), X.T@R)
T = alpha*T0c; T[train_tok] += D
def cos(A,B):
    A = A/np.linalg.norm(A,axis=1,keepdims=True).clip(1e-12); B = B/np.linalg.norm(B,axis=1,keepdims=True); return (A*B).sum(1).mean()
Xt, Yt, Pt = mats(te)
pred_t = Xt@D + alpha*Pt
print(f"lam={lam} alpha={alpha:.3g} tokens={len(train_tok)} cos train {cos(X@D+alpha*P, Y):.4f} heldout {cos(pred_t, Yt):.4f} prior-only heldout {cos(Pt, Yt):.4f}")
open(dst,'wb').write(head + T.astype('<f4').tobytes())
