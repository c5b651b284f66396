"""Benchmark DeepLIFT/SHAP (basset.attribution.deep_lift_shap over tangermeme) against tangermeme's deep_lift_shap
called directly on the same sequences and references, in the same process; the cost of the shuffled references;
and, from a finished run, TF-MoDISco's runtime and peak RSS.

For each preset (``--presets``, default cpu basset; random weights, batch-norm statistics as after training, 600 bp,
164 targets for basset, 21 for cpu) ``--n`` random sequences are explained with ``--shuffles`` dinucleotide-shuffled
references each (``--batch`` sequence-reference pairs per pass; the mean logit over three targets is the output):

Each is timed ``--repeat`` (3) times, the best kept (the first call of either pays no compilation: a warm-up runs first).

- ours: :func:`basset.attribution.deep_lift_shap` (one-hot from codes, the target-mean head, tangermeme underneath);
- reference: ``tangermeme.deep_lift_shap.deep_lift_shap`` on the same one-hot and the same head, with the same seed,
  so the same references: the ratio ours/reference is what our wrapper costs (1.0: nothing) and the attributions
  must agree to float rounding;
- shuffles alone: ``tangermeme.ersatz.dinucleotide_shuffle`` drawing the same references, as a fraction of the
  reference's time: what the references cost.

The throughput is given in sequence-reference pairs per second and in sequences per second (pairs / shuffles).
``--results results/default`` adds TF-MoDISco's runtime and peak RSS per lineage from the workflow's benchmark files
(``benchmarks/modisco_<lineage>.tsv``: Snakemake's s and max_rss) and the attribution rule's.

    python benchmarks/bench_attribution.py [--presets cpu basset] [--n 32] [--shuffles 10] [--batch 128]
                                           [--results results/default]
"""

from __future__ import annotations

import argparse
import os
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn

from basset.attribution import OutputMean, deep_lift_shap
from basset.models import build_model, model_config
from basset.sequence import one_hot

TARGETS = {"cpu": 21, "basset": 164}


def _net(preset: str) -> nn.Module:
    torch.manual_seed(0)
    net = build_model(model_config(preset), TARGETS.get(preset, 21))
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, nn.BatchNorm1d):
                m.running_mean.normal_(0, 0.3, generator=g)
                m.running_var.uniform_(0.5, 2.0, generator=g)
    return net.eval()


def _timed(fn, repeat: int = 1):
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def bench_preset(preset: str, n: int, shuffles: int, batch: int, repeat: int = 3) -> dict:
    from tangermeme.deep_lift_shap import deep_lift_shap as tm_deep_lift_shap
    from tangermeme.ersatz import dinucleotide_shuffle

    net = _net(preset)
    L = int(net.config["seq_len"])
    codes = np.random.default_rng(0).integers(0, 4, (n, L), dtype=np.uint8)
    cols = [0, 1, 2]
    deep_lift_shap(net, codes[:2], cols, n_shuffles=2, batch_size=batch)  # warm-up: numba's shuffle, torch's kernels
    t_ours, ours = _timed(lambda: deep_lift_shap(net, codes, cols, n_shuffles=shuffles, batch_size=batch, seed=1),
                          repeat)
    x = torch.from_numpy(one_hot(codes))
    head = OutputMean(net, cols)

    def reference():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return tm_deep_lift_shap(head, x, target=0, batch_size=batch, n_shuffles=shuffles, hypothetical=True,
                                     random_state=1, device="cpu")

    t_ref, ref = _timed(reference, repeat)
    t_shuf, _ = _timed(lambda: dinucleotide_shuffle(x, n=shuffles, random_state=1), repeat)
    pairs = n * shuffles
    return {"preset": preset, "length": L, "sequences": n, "shuffles": shuffles, "batch": batch,
            "ours_s": round(t_ours, 2), "reference_s": round(t_ref, 2), "ours/reference": round(t_ours / t_ref, 3),
            "pairs_per_s": round(pairs / t_ours, 1), "sequences_per_s": round(n / t_ours, 2),
            "shuffle_fraction": round(t_shuf / t_ref, 3),
            "max_abs_difference": float(np.abs(ours - ref.numpy()).max())}


def modisco_costs(results: Path) -> pd.DataFrame:
    rows = []
    for path in sorted((results / "benchmarks").glob("modisco_*.tsv")) + \
            sorted((results / "benchmarks").glob("attribute_sites.tsv")) + \
            sorted((results / "benchmarks").glob("annotate_patterns.tsv")):
        b = pd.read_csv(path, sep="\t")
        rows.append({"rule": path.stem, "seconds": round(float(b["s"].iloc[0]), 1),
                     "max_rss_mb": round(float(b["max_rss"].iloc[0]), 0)})
    return pd.DataFrame(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--presets", nargs="+", default=["cpu", "basset"])
    ap.add_argument("--n", type=int, default=32, help="sequences explained per preset")
    ap.add_argument("--shuffles", type=int, default=10, help="references per sequence")
    ap.add_argument("--batch", type=int, default=128, help="sequence-reference pairs per pass")
    ap.add_argument("--repeat", type=int, default=3, help="timings per method; the best is kept")
    ap.add_argument("--results", type=Path, help="a finished run's results folder (TF-MoDISco's costs)")
    args = ap.parse_args()
    print(f"torch threads {torch.get_num_threads()}, cores {os.cpu_count()}, load {os.getloadavg()[0]:.2f}")
    table = pd.DataFrame([bench_preset(p, args.n, args.shuffles, args.batch, args.repeat) for p in args.presets])
    print(table.to_string(index=False))
    if args.results:
        costs = modisco_costs(args.results)
        print(costs.to_string(index=False) if len(costs) else f"no attribution benchmarks in {args.results}")


if __name__ == "__main__":
    main()
