"""Benchmark DeepSEA's bin labelling (basset.bins.label_bins): ``--peaks`` peaks over ``--features`` features on hg19's
chromosome sizes into 200 bp bins, against bedtools (``intersect -wo`` of the selected bins with the peaks, through
pybedtools) on the same peaks in the same process, which must give the same labels.

Peaks: a third of the features are "TF" (narrow, 150-600 bp, the selecting assay), the rest "histone" (broad,
500-5,000 bp) or "DNase" (150-400 bp); centres drawn from a shared pool of positions so that features overlap as real
peaks do. The issue's target: 1 M peaks x 100 features into bins in under 60 s on 2 cores. The bedtools reference
runs on one chromosome (``--reference-chrom``, default chr21) of the same peaks: its time is scaled by the share of
peaks on it for the ratio.

    python benchmarks/bench_bins.py [--peaks 1000000] [--features 100] [--reference-chrom chr21]
"""

from __future__ import annotations

import argparse
import os
import resource
import time

import numpy as np

from basset.bins import label_bins

HG19 = {"chr1": 249250621, "chr2": 243199373, "chr3": 198022430, "chr4": 191154276, "chr5": 180915260,
        "chr6": 171115067, "chr7": 159138663, "chr8": 146364022, "chr9": 141213431, "chr10": 135534747,
        "chr11": 135006516, "chr12": 133851895, "chr13": 115169878, "chr14": 107349540, "chr15": 102531392,
        "chr16": 90354753, "chr17": 81195210, "chr18": 78077248, "chr19": 59128983, "chr20": 63025520,
        "chr21": 48129895, "chr22": 51304566, "chrX": 155270560, "chrY": 59373566}


def synthetic(n: int, n_features: int, rng):
    names, sizes = list(HG19), np.array(list(HG19.values()), dtype=np.int64)
    pool = 400_000
    pool_chrom = rng.choice(len(sizes), pool, p=sizes / sizes.sum())
    pool_pos = (rng.random(pool) * (sizes[pool_chrom] - 10_000)).astype(np.int64) + 5_000
    pick = rng.integers(0, pool, n)
    feature = rng.integers(0, n_features, n)
    kind = feature % 3  # 0: TF, 1: histone, 2: DNase
    width = np.where(kind == 0, rng.integers(150, 600, n),
                     np.where(kind == 1, rng.integers(500, 5000, n), rng.integers(150, 400, n)))
    centre = pool_pos[pick] + rng.integers(-300, 300, n)
    start = np.maximum(centre - width // 2, 0)
    end = np.minimum(start + width, sizes[pool_chrom[pick]])
    return names, sizes, pool_chrom[pick], start, end, feature


def bedtools_labels(names, chrom, start, end, feature, out, which: int, n_features: int, bin_size: int = 200):
    """The labels of the bins of chromosome ``which`` that label_bins kept, by bedtools intersect -wo."""
    import pybedtools

    keep = chrom == which
    peaks = pybedtools.BedTool("\n".join(f"{names[which]}\t{s}\t{e}\t{f}" for s, e, f in
                                         zip(start[keep], end[keep], feature[keep])) + "\n", from_string=True)
    rows = np.flatnonzero(out["chrom"] == which)
    bins = pybedtools.BedTool("\n".join(f"{names[which]}\t{s}\t{s + bin_size}\t{i}" for i, s in
                                        enumerate(out["start"][rows])) + "\n", from_string=True)
    labels = np.zeros((rows.size, n_features), dtype=np.uint8)
    for f in bins.intersect(peaks, wo=True):
        if int(f.fields[-1]) > bin_size // 2:
            labels[int(f.fields[3]), int(f.fields[7])] = 1
    return labels, rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--peaks", type=int, default=1_000_000)
    ap.add_argument("--features", type=int, default=100)
    ap.add_argument("--reference-chrom", default="chr21")
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    names, sizes, chrom, start, end, feature = synthetic(args.peaks, args.features, rng)
    select = [f for f in range(args.features) if f % 3 == 0]
    print(f"{args.peaks:,} peaks x {args.features} features ({len(select)} selecting) on hg19; cores {os.cpu_count()}, "
          f"load {os.getloadavg()[0]:.2f}")
    t0 = time.perf_counter()
    out = label_bins(chrom, start, end, feature, sizes, args.features, bin_size=200, fraction=0.5, select=select,
                     length=1000)
    t = time.perf_counter() - t0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"label_bins: {t:.1f} s ({t / 60:.2f} of the 60 s target), {out['labels'].shape[0]:,} sample bins, "
          f"{out['labels'].mean():.4f} positive, peak RSS {rss:,.0f} MB")
    which = names.index(args.reference_chrom)
    t0 = time.perf_counter()
    ref, rows = bedtools_labels(names, chrom, start, end, feature, out, which, args.features)
    t_ref = time.perf_counter() - t0
    share = float((chrom == which).mean())
    same = bool(np.array_equal(ref, out["labels"][rows]))
    print(f"bedtools intersect -wo on {args.reference_chrom} ({share:.1%} of the peaks, {rows.size:,} bins): "
          f"{t_ref:.1f} s, about {t_ref / share:.0f} s for the genome: label_bins is {t_ref / share / t:.1f}x faster; "
          f"labels identical: {same}")


if __name__ == "__main__":
    main()
