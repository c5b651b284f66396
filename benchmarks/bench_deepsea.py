"""The DeepSEA-style default's figures (issue 16): what `snakemake --configfile config/deepsea.yaml` measured, read from
its results folder, against the issue's target (TF features: median test AUROC >= 0.90).

It reads the run's own tables, never re-derives them: the bins (``peaks/bins/summary.tsv``), the medians by assay
(``evaluate/auroc_by_assay.tsv``), the Delta classes (``variants/delta_summary.tsv``) and each rule's wall time
(Snakemake's ``benchmarks/<rule>.tsv``). Run the workflow first (about 18 minutes on 2 cores), then:

    python benchmarks/bench_deepsea.py [--results results/deepsea]

Exit status 1 when the target is missed or a table is missing.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from basset.stages.report_numbers import read_kv

TARGET_TF_MEDIAN_AUROC = 0.90


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--results", type=Path, default=Path("results/deepsea"))
    args = ap.parse_args(argv)
    res = args.results
    try:
        bins = read_kv(res / "peaks/bins/summary.tsv")
        by_assay = pd.read_csv(res / "evaluate/auroc_by_assay.tsv", sep="\t").set_index("assay")
        delta = read_kv(res / "variants/delta_summary.tsv")
    except FileNotFoundError as exc:
        print(f"{exc.filename}: missing; run `snakemake --configfile config/deepsea.yaml` first", file=sys.stderr)
        return 1
    seconds = {p.stem: float(pd.read_csv(p, sep="\t")["s"].iloc[-1])
               for p in sorted((res / "benchmarks").glob("*.tsv"))}
    print(f"bins: {int(bins['sites'])} samples of {int(bins['targets'])} features")
    print("assay    features  median AUROC  median AUPRC")
    for assay, row in by_assay.iterrows():
        print(f"{assay:<8} {int(row['features']):>8}  {row['median_auroc']:>12.3f}  {row['median_auprc']:>12.3f}")
    print(f"top likely causal SNP {delta['snp']}: largest |Delta| {float(delta['max_abs_delta']):.3f} "
          f"({delta['class']}) in {delta['top_target']}")
    print("likely causal SNPs strong/moderate/weak: "
          + "/".join(str(delta[f"likely_{c}"]) for c in ("strong", "moderate", "weak"))
          + "; unlikely: " + "/".join(str(delta[f"unlikely_{c}"]) for c in ("strong", "moderate", "weak")))
    print(f"rule wall time: {sum(seconds.values()):.0f} s in all, train_model {seconds.get('train_model', 0):.0f} s")
    tf = float(by_assay.loc["tf", "median_auroc"]) if "tf" in by_assay.index else float("nan")
    ok = tf >= TARGET_TF_MEDIAN_AUROC
    print(f"TF median AUROC {tf:.3f} (target >= {TARGET_TF_MEDIAN_AUROC}): {'met' if ok else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
