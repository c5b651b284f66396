"""Benchmark the coverage dataset's binning (basset.stages.coverage.track_bins over basset.coverage.bin_sums): a bigWig
of ``--tracks`` x ``--mb`` Mb of bedGraph-like intervals (read counts in runs, as deepTools writes them) binned into
128 bp bins for every window of ``--window`` bp every ``--stride`` bp, against the reference in the same process:
Basenji's own way (``basenji_data_read.py``), one ``pyBigWig.values`` call per window summed per bin. Both must give
the same bins. Also the whole ``build_coverage_dataset`` (genome codes, windows, HDF5 writes) on the same files.

    python benchmarks/bench_coverage.py [--mb 20] [--tracks 4] [--window 131072] [--stride 65536]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from basset.coverage import window_bins, window_starts
from basset.stages.coverage import build_coverage_dataset, track_bins


def write_track(path: Path, sizes: dict, rng) -> None:
    """A coverage bigWig: Poisson counts over a rate with peaks, written as runs of equal non-zero values."""
    import pyBigWig

    from basset.simulate.write import runs

    bw = pyBigWig.open(str(path), "w")
    bw.addHeader(list(sizes.items()))
    for chrom, size in sizes.items():
        rate = np.full(size, 0.05)
        centres = rng.integers(0, size, size // 2000)
        for width in (150,):
            idx = (centres[:, None] + np.arange(-width, width)[None]).ravel()
            idx = idx[(idx >= 0) & (idx < size)]
            np.add.at(rate, idx, 0.5)
        s, e, v = runs(rng.poisson(rate).astype(np.float32))
        bw.addEntries([chrom] * s.size, s.tolist(), ends=e.tolist(), values=v.astype(float).tolist())
    bw.close()


def per_window(path, sizes: dict, window: int, stride: int, bin_size: int) -> dict:
    """Basenji's reading: for each window, ``values`` of the window, summed per bin."""
    import pyBigWig

    bw, out = pyBigWig.open(str(path)), {}
    for chrom, size in sizes.items():
        rows = []
        for start in window_starts(size, window, stride):
            v = np.nan_to_num(bw.values(chrom, int(start), int(start) + window, numpy=True))
            rows.append(v.reshape(-1, bin_size).sum(1))
        out[chrom] = np.array(rows)
    bw.close()
    return out


def ours(path, sizes: dict, window: int, stride: int, bin_size: int) -> dict:
    """basset: each chromosome binned once in chunks, the windows' bins gathered from it."""
    import pyBigWig

    bw, out = pyBigWig.open(str(path)), {}
    for chrom, size in sizes.items():
        bins = track_bins(bw, chrom, size, bin_size)[:, None]
        out[chrom] = window_bins(bins, window_starts(size, window, stride), bin_size, window // bin_size)[:, :, 0]
    bw.close()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mb", type=float, default=20.0, help="genome size, Mb (in 4 chromosomes)")
    ap.add_argument("--tracks", type=int, default=4)
    ap.add_argument("--window", type=int, default=131072)
    ap.add_argument("--stride", type=int, default=65536)
    ap.add_argument("--bin", type=int, default=128)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    total = int(args.mb * 1e6)
    sizes = {f"chr{i + 1}": int(total * f) for i, f in enumerate((0.4, 0.3, 0.2, 0.1))}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        tracks = {}
        for t in range(args.tracks):
            tracks[f"t{t}"] = tmp / f"t{t}.bw"
            write_track(tracks[f"t{t}"], sizes, rng)
        t0 = time.perf_counter()
        ref = [per_window(p, sizes, args.window, args.stride, args.bin) for p in tracks.values()]
        t_ref = time.perf_counter() - t0
        t0 = time.perf_counter()
        got = [ours(p, sizes, args.window, args.stride, args.bin) for p in tracks.values()]
        t_ours = time.perf_counter() - t0
        for a, b in zip(ref, got):
            for chrom in sizes:
                np.testing.assert_allclose(a[chrom], b[chrom], rtol=1e-6)
        n_windows = sum(len(window_starts(s, args.window, args.stride)) for s in sizes.values())
        with open(tmp / "g.fa", "w") as fh:
            for chrom, size in sizes.items():
                seq = np.frombuffer(b"ACGT", np.uint8)[rng.integers(0, 4, size)].tobytes().decode()
                fh.write(f">{chrom}\n" + "\n".join(seq[i : i + 100] for i in range(0, size, 100)) + "\n")
        t0 = time.perf_counter()
        build_coverage_dataset(tmp / "g.fa", tracks, {"h5": tmp / "d.h5"},
                               {"mode": "coverage", "bin": args.bin, "window": args.window, "stride": args.stride,
                                "split": {"method": "chromosomes", "valid": ["chr3"], "test": ["chr4"]}})
        t_build = time.perf_counter() - t0
        size_mb = (tmp / "d.h5").stat().st_size / 1e6
    mb_tracks = args.mb * args.tracks
    print(f"{args.tracks} tracks x {args.mb:g} Mb, {n_windows} windows of {args.window} bp every {args.stride} bp, "
          f"{args.bin} bp bins (load {os.getloadavg()[0]:.2f})")
    print(f"  per-window values (Basenji's reading): {t_ref:7.2f} s  ({mb_tracks / t_ref:6.1f} Mb-tracks/s)")
    print(f"  basset, a chromosome at a time:       {t_ours:7.2f} s  ({mb_tracks / t_ours:6.1f} Mb-tracks/s)  "
          f"ratio {t_ref / t_ours:.1f}x, identical bins")
    print(f"  build_coverage_dataset (sequences, bins, HDF5): {t_build:.2f} s, {size_mb:.1f} MB")


if __name__ == "__main__":
    main()
