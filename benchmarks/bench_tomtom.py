"""Benchmark Tomtom (memelite) annotation of first-layer filters against whole motif databases.

300 realistic filter PWMs of width 19 (a random JASPAR CORE vertebrate matrix placed at a random offset in
19 columns of background, mixed with Dirichlet noise, as activation-window PWMs look) are compared with
every motif of JASPAR CORE vertebrates (about 1019, exported with pyjaspar) and of the CIS-BP human file.
Target: under 30 s per database on this CPU. "cold" is the first call in this fresh process (it includes
loading, or compiling if the numba cache is empty, memelite's kernels); "warm" a second identical call.

    python benchmarks/bench_tomtom.py [--filters 300] [--cisbp /work/shared/reference/cisbp_Homo_sapiens.meme]
"""

from __future__ import annotations

import argparse
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

from basset.memefile import Motif, read_meme
from basset.motifs import jaspar_meme, tomtom_all

TARGET_S = 30.0


def realistic_filters(database: list[Motif], n: int, width: int = 19, seed: int = 0) -> list[Motif]:
    """``n`` noisy filter-like PWMs ``(width, 4)`` built from random database motifs."""
    rng = np.random.default_rng(seed)
    out = []
    for k in range(n):
        src = database[rng.integers(len(database))].pwm
        src = src[:width] if len(src) > width else src
        if rng.random() < 0.5:
            src = src[::-1, ::-1]
        pwm = rng.dirichlet(np.full(4, 2.0), size=width) * 0.6 + 0.1  # weak background columns
        start = rng.integers(0, width - len(src) + 1)
        pwm[start:start + len(src)] = src
        mix = 0.3 * rng.dirichlet(np.ones(4), size=width) + 0.7 * pwm
        out.append(Motif(f"filter{k}", f"filter{k}", mix / mix.sum(1, keepdims=True), 100.0))
    return out


def time_call(queries, targets) -> tuple[float, int]:
    t0 = time.perf_counter()
    table = tomtom_all(queries, targets, engine="memelite")
    return time.perf_counter() - t0, int((table["q"] < 0.1).sum())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--filters", type=int, default=300)
    ap.add_argument("--cisbp", default="/work/shared/reference/cisbp_Homo_sapiens.meme")
    args = ap.parse_args()
    warnings.filterwarnings("ignore")
    with tempfile.TemporaryDirectory() as tmp:
        jaspar = jaspar_meme(Path(tmp) / "jaspar.meme")
    databases = {"JASPAR2026 CORE vertebrates": jaspar}
    if Path(args.cisbp).exists():
        databases["CIS-BP Homo sapiens"] = read_meme(args.cisbp)
    queries = realistic_filters(jaspar, args.filters)
    print(f"{len(queries)} query PWMs of width 19, memelite tomtom, target {TARGET_S:.0f} s")
    print(f"{'database':32s} {'motifs':>6s} {'cold s':>8s} {'warm s':>8s} {'cold/warm':>9s} "
          f"{'warm/target':>11s} {'hits q<0.1':>10s}")
    for name, targets in databases.items():
        cold, _ = time_call(queries, targets)
        warm, hits = time_call(queries, targets)
        print(f"{name:32s} {len(targets):6d} {cold:8.2f} {warm:8.2f} {cold / warm:9.2f} "
              f"{warm / TARGET_S:11.3f} {hits:10d}", flush=True)


if __name__ == "__main__":
    main()
