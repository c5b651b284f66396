"""Metrics agree with scikit-learn on known inputs, ties and degenerate targets included."""

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.metrics import roc_curve as sk_roc

from basset.metrics import auprc, auroc, roc_curve


def test_metrics_equal_sklearn_with_ties():
    rng = np.random.default_rng(3)
    y = (rng.random((500, 7)) < [0.05, 0.1, 0.3, 0.5, 0.7, 0.9, 0.02]).astype(np.uint8)
    p = np.round(rng.random((500, 7)) + 0.8 * y, 1)  # rounding makes many ties
    for j in range(7):
        assert np.isclose(auroc(y, p)[j], roc_auc_score(y[:, j], p[:, j]))
        assert np.isclose(auprc(y, p)[j], average_precision_score(y[:, j], p[:, j]))


def test_known_values_and_degenerate_targets():
    y = np.array([[1, 0, 1], [0, 0, 1], [1, 0, 1], [0, 0, 1]])
    p = np.array([[0.9, 0.1, 0.5], [0.2, 0.2, 0.5], [0.8, 0.3, 0.5], [0.1, 0.4, 0.5]])
    a = auroc(y, p)
    assert a[0] == 1.0 and np.isnan(a[1]) and np.isnan(a[2])
    assert auprc(y, p)[0] == 1.0
    assert auroc([1, 0, 1, 0], [0.1, 0.9, 0.2, 0.8])[0] == 0.0


def test_roc_curve_matches_sklearn():
    rng = np.random.default_rng(0)
    y = rng.random(300) < 0.3
    p = np.round(rng.random(300) + y * 0.5, 2)
    fpr, tpr = roc_curve(y, p)
    sk_fpr, sk_tpr, _ = sk_roc(y, p, drop_intermediate=False)
    np.testing.assert_allclose(fpr, sk_fpr)
    np.testing.assert_allclose(tpr, sk_tpr)
