"""Conservation (phyloP) beside in-silico mutagenesis: read a bigWig, regress phyloP on loss/gain scores.

The paper (Figure 4B-D) asks whether the nucleotides the model finds important are conserved: loss and
gain scores of every nucleotide of the central 100 bp of the test sites (one column per target) are
regressed on phyloP with ridge regression, fitted on 80 % of the nucleotides and scored on the other 20 %
by Pearson's r. Features are the scores of all targets; the ridge penalty is chosen by cross-validation on
the training part.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import InputError
from .sequence import Genome

log = logging.getLogger("basset.conservation")

#: feature sets of :func:`ridge_phylop`, in order
FEATURES = ("loss", "gain", "both")


def phylop_windows(bigwig: str | Path, chroms, starts, length: int) -> np.ndarray:
    """phyloP over windows: ``(n, length) float32`` for ``chroms[i]:starts[i]..starts[i]+length`` (0-based).

    Positions without data (and windows on chromosomes the file lacks) are NaN; the count of missing
    values is logged.
    """
    import pyBigWig

    path = str(bigwig)
    if not Path(path).exists():
        raise InputError(path, "phyloP bigWig not found")
    try:
        bw = pyBigWig.open(path)
    except RuntimeError:  # pyBigWig raises, rather than return None, on a file that is not bigWig/bigBed
        bw = None
    if bw is None or not bw.isBigWig():
        raise InputError(path, "not a bigWig file")
    sizes = bw.chroms()
    out = np.full((len(starts), length), np.nan, dtype=np.float32)
    unknown = set()
    try:
        for i, (c, s) in enumerate(zip(chroms, np.asarray(starts, dtype=np.int64))):  # one call per site
            if c not in sizes:
                unknown.add(c)
                continue
            lo, hi = max(int(s), 0), min(int(s) + length, sizes[c])
            if hi > lo:
                out[i, lo - s:hi - s] = np.asarray(bw.values(c, lo, hi, numpy=True), dtype=np.float32)
    finally:
        bw.close()
    missing = int(np.isnan(out).sum())
    if unknown:
        log.warning("%s: no chromosome(s) %s; their windows are NaN", path, ", ".join(sorted(unknown)))
    if missing:
        log.info("%s: %d of %d positions have no phyloP value", path, missing, out.size)
    return out


def soft_masked_windows(fasta, chroms, starts, length: int) -> np.ndarray:
    """``(n, length) bool``: the soft-masked (lowercase) bases of the windows ``chroms[i]:starts[i]`` of the
    genome ``fasta``, one chromosome read at a time; the count is logged (a FASTA without lowercase masks
    nothing)."""
    chroms = np.asarray(chroms)
    out = np.zeros((len(chroms), length), dtype=bool)
    with Genome(fasta) as g:
        for c in dict.fromkeys(chroms):
            rows = np.flatnonzero(chroms == c)
            if c in g.sizes:
                out[rows] = g.soft_masked(c, np.asarray(starts)[rows], length)
    log.info("%s: %d of %d scored nucleotides are soft-masked (repeats)", fasta, int(out.sum()), out.size)
    return out


def ridge_phylop(loss, gain, phylop, test_fraction: float = 0.2, seed: int = 1,
                 alphas=tuple(10.0 ** np.arange(-2, 5))) -> tuple[pd.DataFrame, dict]:
    """Predict phyloP from mutagenesis scores with ridge regression; Pearson r on held-out nucleotides.

    ``loss``, ``gain``: ``(n, T)`` scores per nucleotide and target; ``phylop (n,)``. Nucleotides with a
    NaN anywhere are dropped (and counted). Returns ``(table, predictions)``: one row per feature set
    (``loss``, ``gain``, ``both``) with ``features, n_train, n_test, alpha, r, p``, and for each feature set
    the test-set ``(observed, predicted)`` arrays for plotting.
    """
    from scipy.stats import pearsonr
    from sklearn.linear_model import RidgeCV
    from sklearn.preprocessing import StandardScaler

    loss, gain = np.asarray(loss, dtype=np.float64), np.asarray(gain, dtype=np.float64)
    y = np.asarray(phylop, dtype=np.float64).ravel()
    if loss.shape != gain.shape or loss.shape[0] != y.size:
        raise ValueError(f"loss {loss.shape}, gain {gain.shape} and phyloP ({y.size},) do not match")
    ok = np.isfinite(y) & np.isfinite(loss).all(1) & np.isfinite(gain).all(1)
    if (~ok).any():
        log.info("ridge_phylop: %d of %d nucleotides dropped (NaN)", int((~ok).sum()), y.size)
    loss, gain, y = loss[ok], gain[ok], y[ok]
    if y.size < 10:
        raise ValueError(f"only {y.size} nucleotides with scores and phyloP: too few to regress")
    rng = np.random.default_rng(seed)
    test = np.zeros(y.size, dtype=bool)
    test[rng.permutation(y.size)[: max(1, int(round(test_fraction * y.size)))]] = True
    rows, preds = [], {}
    for name, x in (("loss", loss), ("gain", gain), ("both", np.hstack([loss, gain]))):
        scaler = StandardScaler().fit(x[~test])
        # an array: scikit-learn writes into a one-penalty alphas (a tuple fails)
        model = RidgeCV(alphas=np.array(alphas, dtype=np.float64)).fit(scaler.transform(x[~test]), y[~test])
        pred = model.predict(scaler.transform(x[test]))
        # a constant prediction (no informative feature) has r 0; np.std of equal values can be ~1e-17, not 0
        r, p = pearsonr(pred, y[test]) if np.ptp(pred) > 0 else (0.0, 1.0)
        rows.append({"features": name, "n_train": int((~test).sum()), "n_test": int(test.sum()),
                     "alpha": float(model.alpha_), "r": float(r), "p": float(p)})
        preds[name] = (y[test], pred)
    table = pd.DataFrame(rows)
    log.info("phyloP ridge regression (test r): %s",
             ", ".join(f"{f} {r:.3f} (p={p:.2g})" for f, r, p in zip(table.features, table.r, table.p)))
    return table, preds
