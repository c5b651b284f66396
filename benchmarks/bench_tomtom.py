"""Benchmark Tomtom annotation of first-layer filters against whole motif databases (basset's engine with the
Pearson distance, the workflow's default without MEME's binary; memelite, Euclidean, as the reference).

300 realistic filter PWMs of width 19 (a random JASPAR CORE vertebrate matrix placed at a random offset in
19 columns of background, mixed with Dirichlet noise, as activation-window PWMs look) are compared with
every motif of JASPAR CORE vertebrates (about 1019, exported with pyjaspar) and of the CIS-BP human file.
Target: under 30 s per database on this CPU. "cold" is the first call in this fresh process (it includes
loading, or compiling if the numba cache is empty, memelite's kernels); "warm" a second identical call.
The last column is each engine's warm time over memelite's warm time in the same process.

    python benchmarks/bench_tomtom.py [--filters 300] [--cisbp ../shared/reference/cisbp_Homo_sapiens.meme]
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import numpy as np

from basset.jaspar import jaspar_database
from basset.memefile import Motif, read_meme
from basset.tomtom import tomtom_all

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


ENGINES = (("basset", "pearson"), ("memelite", "euclidean"))


def time_call(queries, targets, engine: str, dist: str) -> tuple[float, int]:
    t0 = time.perf_counter()
    table = tomtom_all(queries, targets, engine=engine, dist=dist)
    return time.perf_counter() - t0, int((table["q"] < 0.1).sum())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--filters", type=int, default=300)
    ap.add_argument("--cisbp", default=str(Path(__file__).resolve().parents[2] / "shared" / "reference"
                                           / "cisbp_Homo_sapiens.meme"))
    args = ap.parse_args()
    warnings.filterwarnings("ignore")
    jaspar, _table = jaspar_database()
    databases = {"JASPAR2026 CORE vertebrates": jaspar}
    if Path(args.cisbp).exists():
        databases["CIS-BP Homo sapiens"] = read_meme(args.cisbp)
    queries = realistic_filters(jaspar, args.filters)
    print(f"{len(queries)} query PWMs of width 19, target {TARGET_S:.0f} s")
    print(f"{'database':28s} {'engine':9s} {'distance':9s} {'motifs':>6s} {'cold s':>7s} {'warm s':>7s} "
          f"{'warm/target':>11s} {'hits q<0.1':>10s} {'vs memelite':>11s}")
    for name, targets in databases.items():
        rows = []
        for engine, dist in ENGINES:
            cold, _ = time_call(queries, targets, engine, dist)
            warm, hits = time_call(queries, targets, engine, dist)
            rows.append((engine, dist, cold, warm, hits))
        ref = rows[-1][3]
        for engine, dist, cold, warm, hits in rows:
            print(f"{name:28s} {engine:9s} {dist:9s} {len(targets):6d} {cold:7.2f} {warm:7.2f} "
                  f"{warm / TARGET_S:11.3f} {hits:10d} {warm / ref:11.2f}", flush=True)


if __name__ == "__main__":
    main()
