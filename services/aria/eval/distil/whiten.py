# PCA-whitening of a distilled table over its non-zero rows: whiten.py TABLE OUT DIMS
import sys, numpy as np
src, dst, keep = sys.argv[1], sys.argv[2], int(sys.argv[3])
raw = open(src,'rb').read()
head = raw[:16]
vocab, dims = np.frombuffer(raw[8:16], dtype='<u4')
X = np.frombuffer(raw[16:], dtype='<f4').reshape(vocab, dims).astype(np.float64)
nz = np.any(X != 0, axis=1)
mu = X[nz].mean(0)
C = np.cov((X[nz]-mu).T)
w, U = np.linalg.eigh(C)
order = np.argsort(w)[::-1][:keep]
W = U[:, order] / np.sqrt(w[order] + 1e-6)
Y = np.zeros((vocab, dims))
Y[nz, :keep] = (X[nz]-mu) @ W
open(dst,'wb').write(head + Y.astype('<f4').tobytes())
print("rows", nz.sum(), "top eig", w[order][:5], "kept", keep)
