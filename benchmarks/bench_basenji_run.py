"""The Basenji-style default's figures (issue 17): what `snakemake --configfile config/basenji.yaml` measured, read from
its results folder, against the issue's target (mean per-track Pearson r of log coverage on test windows >= 0.6),
with the window ablation's share of the CAGE-like signal.

It reads the run's own tables, never re-derives them: the dataset (``dataset/summary.tsv``), the evaluation per track
(``evaluate/coverage_metrics.tsv``, ``coverage_summary.tsv``), the ablation (``evaluate/window_ablation.tsv``,
``window_ablation_summary.tsv``), the difference track (``variants/delta_track_summary.tsv``) and each rule's wall
time (Snakemake's ``benchmarks/<rule>.tsv``). Run the workflow first (about 16 minutes on 2 cores), then:

    python benchmarks/bench_basenji_run.py [--results results/basenji]

Exit status 1 when the target is missed or a table is missing.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from basset.stages.report_numbers import read_kv

TARGET_MEAN_R = 0.6


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--results", type=Path, default=Path("results/basenji"))
    args = ap.parse_args(argv)
    res = args.results
    try:
        data = read_kv(res / "dataset/summary.tsv")
        metrics = pd.read_csv(res / "evaluate/coverage_metrics.tsv", sep="\t")
        summary = read_kv(res / "evaluate/coverage_summary.tsv")
        ablation = pd.read_csv(res / "evaluate/window_ablation.tsv", sep="\t")
        abl = read_kv(res / "evaluate/window_ablation_summary.tsv")
        track = read_kv(res / "variants/delta_track_summary.tsv")
    except FileNotFoundError as exc:
        print(f"{exc.filename}: missing; run `snakemake --configfile config/basenji.yaml` first", file=sys.stderr)
        return 1
    seconds = {p.stem: float(pd.read_csv(p, sep="\t")["s"].iloc[-1])
               for p in sorted((res / "benchmarks").glob("*.tsv"))}
    print(f"windows: {data['windows']} of {data['window']} bp every {data['stride']} bp ({data['train']} train, "
          f"{data['valid']} valid, {data['test']} test; {data['skipped_n_rich']} N-rich skipped), {data['tracks']} "
          f"tracks in {data['bin']} bp bins")
    print("track        assay   r(log, bins)  r(sum, windows)")
    for _, row in metrics.iterrows():
        print(f"{row['target']:<12} {row['assay']:<7} {row['r_log']:>12.3f}  {row['r_sum']:>15.3f}")
    print(f"ablation on the central {abl['bins_compared']} bins: {abl['long_bp']:,} bp against {abl['short_bp']:,} bp")
    for assay, rows in ablation.groupby("assay", sort=False):
        print(f"  {assay:<7} mean r {rows['r_long'].mean():.3f} against {rows['r_short'].mean():.3f}; variance of "
              f"log coverage explained (mean r^2) {rows['r2_long'].mean():.3f} against {rows['r2_short'].mean():.3f}")
    print(f"difference track of {track['variant']}: {track['bins_moved']} of {track['bins']} bins move, the farthest "
          f"{track['farthest_bin_moved_bp']} bp from it")
    print(f"rule wall time: {sum(seconds.values()):.0f} s in all, train_model {seconds.get('train_model', 0):.0f} s, "
          f"train_ablation {seconds.get('train_ablation', 0):.0f} s")
    mean_r = float(summary["mean_r_log"])
    ok = mean_r >= TARGET_MEAN_R
    print(f"mean r of log coverage {mean_r:.3f} (target >= {TARGET_MEAN_R}): {'met' if ok else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
