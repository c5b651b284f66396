"""Benchmark Basset's peak merge: 164 narrowPeak files x 100,000 peaks (16.4 M peaks), hg19 sizes.

Target (issue 2): read + merge in under 30 s and under 4 GB on 2 cores. Prints the figures, the ratio to
the target, and the ratio against the plain-Python reference implementation of the same algorithm
(``merge_sorted_reference``), timed in the same run on a fraction of the chromosomes and extrapolated
by peak count (``--reference-fraction 1`` runs it on everything: about 4-5 minutes).

    python benchmarks/bench_merge.py [--files 164] [--peaks 100000] [--out benchmarks/out/merge]
"""

from __future__ import annotations

import argparse
import gzip
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HG19 = {  # chromosome sizes of hg19 (bp)
    "chr1": 249250621, "chr2": 243199373, "chr3": 198022430, "chr4": 191154276, "chr5": 180915260,
    "chr6": 171115067, "chr7": 159138663, "chr8": 146364022, "chr9": 141213431, "chr10": 135534747,
    "chr11": 135006516, "chr12": 133851895, "chr13": 115169878, "chr14": 107349540, "chr15": 102531392,
    "chr16": 90354753, "chr17": 81195210, "chr18": 78077248, "chr19": 59128983, "chr20": 63025520,
    "chr21": 48129895, "chr22": 51304566, "chrX": 155270560, "chrY": 59373566,
}


def make_inputs(out: Path, n_files: int, n_peaks: int, seed: int = 0) -> list[Path]:
    """Realistic overlap: peaks of all files are drawn from a shared pool of 2.5 M site centres (as DNase
    peaks recur across cell types), jittered by +-40 bp, plus 20 % private peaks; widths 150-600 bp."""
    out.mkdir(parents=True, exist_ok=True)
    files = [out / f"cell{i:03d}.narrowPeak.gz" for i in range(n_files)]
    stamp = out / "inputs.json"
    if stamp.exists() and json.loads(stamp.read_text()) == [n_files, n_peaks, seed]:
        return files
    rng = np.random.default_rng(seed)
    names = np.array(list(HG19))
    sizes = np.array(list(HG19.values()))
    p = sizes / sizes.sum()
    pool_chrom = rng.choice(len(names), 2_500_000, p=p)
    pool_pos = (rng.random(2_500_000) * (sizes[pool_chrom] - 2000)).astype(np.int64) + 1000
    for f in files:
        shared = rng.choice(len(pool_pos), int(n_peaks * 0.8), replace=False)
        own_c = rng.choice(len(names), n_peaks - len(shared), p=p)
        own_p = (rng.random(len(own_c)) * (sizes[own_c] - 2000)).astype(np.int64) + 1000
        chrom = np.concatenate([pool_chrom[shared], own_c])
        centre = np.concatenate([pool_pos[shared] + rng.integers(-40, 41, len(shared)), own_p])
        width = rng.integers(150, 601, n_peaks)
        start = centre - width // 2
        lines = [f"{names[c]}\t{s}\t{s + w}\t.\t0\t.\t{rng.random() * 50:.3f}\t-1\t-1\t{w // 2}\n"
                 for c, s, w in zip(chrom, start, width)]
        with gzip.open(f, "wt", compresslevel=1) as fh:
            fh.writelines(lines)
    stamp.write_text(json.dumps([n_files, n_peaks, seed]))
    return files


def run_merge(files: list[str], ref_fraction: float) -> dict:
    """Runs in a fresh process so that peak RSS is the merge's own."""
    import pandas as pd

    from basset.bed import read_peaks
    from basset.peaks import merge_sorted, merge_sorted_reference, sort_peaks
    from basset.stages.peaks import merge_peak_files

    samples = pd.DataFrame({"name": [Path(f).name.split(".")[0] for f in files], "peaks": files,
                            "format": "narrowPeak"})
    merge_sorted(sort_peaks(np.zeros(2, np.int32), np.zeros(2, bool), np.array([5000, 5100]),
                            np.zeros(2, np.int32), ["c"], [10000]), 1)  # load the numba cache first
    t0 = time.perf_counter()
    res = merge_peak_files(samples, HG19, drop_chry=True, progress=False)
    t_total = time.perf_counter() - t0
    rss_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6

    # merge step alone, and the reference on a subset of chromosomes, on the same sorted midpoints
    peaks = [read_peaks(f, "narrowPeak") for f in files]
    cidx = {c: i for i, c in enumerate(HG19)}
    chrom = np.concatenate([pd.Series(pk.chrom).map(cidx).to_numpy(np.int32) for pk in peaks])
    mid = np.concatenate([pk.mid for pk in peaks])
    minus = np.concatenate([pk.minus for pk in peaks])
    target = np.concatenate([np.full(len(pk), t, np.int32) for t, pk in enumerate(peaks)])
    sizes = np.array(list(HG19.values()))
    t0 = time.perf_counter()
    sp = sort_peaks(chrom, minus, mid, target, list(HG19), sizes)
    fast = merge_sorted(sp, len(files))
    t_merge = time.perf_counter() - t0
    # reference on the smallest chromosomes until ref_fraction of the peaks is covered
    counts = np.bincount(chrom, minlength=len(HG19))
    order = np.argsort(counts)
    take = order[np.cumsum(counts[order]) <= max(ref_fraction, counts[order[0]] / counts.sum()) * counts.sum()]
    sel = np.isin(chrom, take)
    sub = sort_peaks(chrom[sel], minus[sel], mid[sel], target[sel], list(HG19), sizes)
    t0 = time.perf_counter()
    ref = merge_sorted_reference(sub, len(files))
    t_ref_sub = time.perf_counter() - t0
    t0 = time.perf_counter()
    fast_sub = merge_sorted(sub, len(files))
    t_fast_sub = time.perf_counter() - t0
    same = (np.array_equal(ref.start, fast_sub.start) and np.array_equal(ref.activity, fast_sub.activity)
            and list(ref.chrom) == list(fast_sub.chrom))
    return {"peaks": int(len(mid)), "sites": len(res.sites), "seconds_read_and_merge": t_total,
            "peak_rss_gb": rss_gb, "seconds_sort_and_merge": t_merge, "reference_peaks": int(sel.sum()),
            "reference_seconds": t_ref_sub, "fast_seconds_same_subset": t_fast_sub,
            "reference_seconds_extrapolated": t_ref_sub * len(mid) / max(1, sel.sum()),
            "identical_on_subset": bool(same), "fast_sites": len(fast)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--files", type=int, default=164)
    ap.add_argument("--peaks", type=int, default=100_000)
    ap.add_argument("--out", default="benchmarks/out/merge")
    ap.add_argument("--reference-fraction", type=float, default=0.1)
    ap.add_argument("--_child", nargs="*", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args._child is not None:
        print(json.dumps(run_merge(args._child, args.reference_fraction)))
        return
    t0 = time.perf_counter()
    files = make_inputs(Path(args.out), args.files, args.peaks)
    print(f"inputs: {len(files)} files x {args.peaks} peaks ({time.perf_counter() - t0:.0f} s to make or reuse)")
    out = subprocess.run([sys.executable, __file__, "--reference-fraction", str(args.reference_fraction),
                          "--_child", *map(str, files)], capture_output=True, text=True)
    if out.returncode:
        sys.exit(f"merge run failed:\n{out.stderr}")
    r = json.loads(out.stdout.strip().splitlines()[-1])
    print(f"peaks {r['peaks']:,} -> sites {r['sites']:,}")
    print(f"read + merge (end to end): {r['seconds_read_and_merge']:.1f} s  (target 30 s: "
          f"{r['seconds_read_and_merge'] / 30:.2f} of budget), peak RSS {r['peak_rss_gb']:.2f} GB "
          f"(target 4 GB: {r['peak_rss_gb'] / 4:.2f})")
    print(f"sort + merge only: {r['seconds_sort_and_merge']:.1f} s")
    print(f"reference (plain Python) on {r['reference_peaks']:,} peaks: {r['reference_seconds']:.1f} s vs fast "
          f"{r['fast_seconds_same_subset']:.2f} s -> speed-up {r['reference_seconds'] / r['fast_seconds_same_subset']:.0f}x; "
          f"outputs identical: {r['identical_on_subset']}")
    print(f"reference extrapolated to all peaks: {r['reference_seconds_extrapolated']:.0f} s; "
          f"ratio end-to-end fast / reference merge alone: "
          f"{r['seconds_read_and_merge'] / r['reference_seconds_extrapolated']:.3f}")


if __name__ == "__main__":
    main()
