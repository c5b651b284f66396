"""Time the default simulation (config/samples/simulated.tsv, the schema's defaults) against the 120 s target.

Usage: ``python benchmarks/bench_simulate.py [--tiny]``. Writes into a temporary directory and prints the
seconds, the ratio to the target and the main counts.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from basset.samples import read_sample_sheet
from basset.simulate import simulate

TARGET_S = 120.0
ROOT = Path(__file__).resolve().parents[1]
TINY = {"genome": {"size": 2_000_000, "chromosomes": 2}}


def run(sheet: Path, params: dict | None, label: str) -> float:
    samples = read_sample_sheet(sheet)
    cwd = os.getcwd()
    with tempfile.TemporaryDirectory(prefix="bench_simulate_") as tmp:
        os.chdir(tmp)  # the sample sheet's peak paths are relative to the working directory
        try:
            t0 = time.perf_counter()
            summary = simulate(Path(tmp) / "out", samples, params, seed=1, progress=False)
            seconds = time.perf_counter() - t0
        finally:
            os.chdir(cwd)
    c = summary["counts"]
    frac = summary["accessible_fraction"].values()
    print(
        f"{label}: {seconds:.1f} s (ratio to the {TARGET_S:.0f} s target: {seconds / TARGET_S:.3f}); "
        f"{c['genome_bp']:,} bp, {c['sites']:,} candidate sites, {c['sites_accessible_anywhere']:,} accessible in "
        f"some cell, peaks per cell {min(c['peaks'].values()):,}-{max(c['peaks'].values()):,}, accessible fraction "
        f"{min(frac):.3f}-{max(frac):.3f}, {c['snps']} SNPs"
    )
    return seconds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tiny", action="store_true", help="also time the tiny (2 Mb, 6 cells) simulation")
    args = ap.parse_args()
    run(ROOT / "config/samples/simulated.tsv", None, "default (20 Mb, 21 cells)")
    if args.tiny:
        run(ROOT / "config/samples/tiny.tsv", TINY, "tiny (2 Mb, 6 cells)")


if __name__ == "__main__":
    main()
