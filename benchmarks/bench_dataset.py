"""Benchmark of basset.dataset: HDF5 build time and loader throughput.

Makes a random genome (a few chromosomes with N blocks) and random 600 bp sites with 164 random 0/1
targets in ``benchmarks/out/`` (or ``--workdir``), then times

* ``write_dataset`` (the writer of rule build_dataset) for all sites against the target (180 s for 2 M sites)
  and against a plain per-site pyfaidx fetch loop timed on a subsample and extrapolated;
* the shuffled training loader on one core (``torch.set_num_threads(1)``, ``num_workers=0``, batches
  of 128) against the target (50,000 sequences/s) and against batching the same rows already in memory.

Usage: ``python benchmarks/bench_dataset.py [--sites 2000000] [--genome-mb 300]``.
"""

from __future__ import annotations

import argparse
import resource
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from basset.dataset import H5Batches, dataset_info, split_labels
from basset.logs import setup_logging
from basset.sequence import Genome, encode, reverse_complement
from basset.stages.dataset import write_dataset

BUILD_TARGET_S_PER_2M = 180.0
LOADER_TARGET = 50_000.0


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def write_genome(path: Path, genome_mb: float, n_chroms: int, rng) -> dict[str, int]:
    """Random FASTA, 60 bp lines, 1% of each chromosome in N blocks; writes its .fai directly."""
    total = int(genome_mb * 1e6)
    sizes = {
        f"chr{i + 1}": int(total * w)
        for i, w in enumerate(np.linspace(1.5, 0.5, n_chroms) / np.linspace(1.5, 0.5, n_chroms).sum())
    }
    letters = np.frombuffer(b"ACGT", dtype=np.uint8)
    offset = 0
    with open(path, "wb") as fa, open(str(path) + ".fai", "w") as fai:
        for name, size in sizes.items():
            seq = letters[rng.integers(0, 4, size, dtype=np.uint8)]
            for s in rng.integers(0, size - 5000, max(1, size // 500_000)):
                seq[s : s + int(rng.integers(100, 5000))] = ord("N")
            header = f">{name}\n".encode()
            fa.write(header)
            offset += len(header)
            full = size // 60
            body = np.empty((full, 61), dtype=np.uint8)
            body[:, :60] = seq[: full * 60].reshape(full, 60)
            body[:, 60] = ord("\n")
            fa.write(body.tobytes())
            tail = seq[full * 60 :].tobytes()
            if tail:
                fa.write(tail + b"\n")
            fai.write(f"{name}\t{size}\t{offset}\t60\t61\n")
            offset += body.size + (len(tail) + 1 if tail else 0)
    return sizes


def make_sites(sizes: dict[str, int], n: int, length: int, rng) -> pd.DataFrame:
    names = list(sizes)
    lens = np.array([sizes[c] for c in names], dtype=np.int64)
    which = rng.choice(len(names), n, p=lens / lens.sum())
    # a few sites run off the end, as real peaks near telomeres would
    start = (rng.random(n) * (lens[which] - length + 50)).astype(np.int64)
    chrom = np.array(names, dtype=object)[which]
    return pd.DataFrame(
        {"chrom": chrom, "start": start, "end": start + length, "strand": np.where(rng.random(n) < 0.5, "+", "-")}
    )


def reference_fetch_rate(fasta: Path, sites: pd.DataFrame, n: int) -> float:
    """Sites/s of a plain per-site pyfaidx fetch + encode (+ reverse complement) loop."""
    import pyfaidx

    fa = pyfaidx.Fasta(str(fasta), as_raw=True, rebuild=False)
    sub = sites.iloc[:n]
    t = time.perf_counter()
    out = np.empty((n, int(sub.end.iloc[0] - sub.start.iloc[0])), dtype=np.uint8)
    for i, (c, s, e, strand) in enumerate(zip(sub.chrom, sub.start, sub.end, sub.strand)):
        if e > len(fa[c]):
            continue
        codes = encode(fa[c][s:e])
        out[i] = reverse_complement(codes) if strand == "-" else codes
    fa.close()
    return n / (time.perf_counter() - t)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sites", type=int, default=2_000_000)
    ap.add_argument("--genome-mb", type=float, default=300)
    ap.add_argument("--chroms", type=int, default=6)
    ap.add_argument("--length", type=int, default=600)
    ap.add_argument("--targets", type=int, default=164)
    ap.add_argument("--compression", default="gzip", choices=["gzip", "lzf", "none"])
    ap.add_argument("--level", type=int, default=1, help="gzip level")
    ap.add_argument("--reference-sites", type=int, default=20_000)
    ap.add_argument("--loader-rows", type=int, default=0, help="rows to stream (0: the whole train split)")
    ap.add_argument("--workdir", type=Path, default=Path(__file__).parent / "out")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(1)
    setup_logging()
    args.workdir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(args.seed)

    fasta = args.workdir / "bench_genome.fa"
    t = time.perf_counter()
    sizes = write_genome(fasta, args.genome_mb, args.chroms, rng)
    sites = make_sites(sizes, args.sites, args.length, rng)
    activity = np.concatenate(  # ~10% ones, made in blocks to avoid a float (N, T) temporary
        [
            (rng.random((min(100_000, args.sites - i), args.targets), dtype=np.float32) < 0.1).view(np.uint8)
            for i in range(0, args.sites, 100_000)
        ]
    )
    target_names = [f"cell{i}" for i in range(args.targets)]
    splits = split_labels(sites, "random", 0.1, 0.1, seed=args.seed)
    print(
        f"inputs: {sum(sizes.values()) / 1e6:.0f} Mb genome in {len(sizes)} chromosomes, {args.sites:,} sites x {args.targets} targets ({time.perf_counter() - t:.1f} s)"
    )
    print(f"peak RSS after making inputs: {peak_rss_mb():.0f} MB (activity alone {activity.nbytes / 2**20:.0f} MB)")

    ref_rate = reference_fetch_rate(fasta, sites, min(args.reference_sites, args.sites))

    out = args.workdir / "bench.h5"
    t = time.perf_counter()
    with Genome(fasta) as genome:
        summary = write_dataset(
            out,
            genome,
            sites,
            activity,
            target_names,
            splits,
            {"compression": args.compression},
            compression_level=args.level,
            seed=args.seed,
            progress=False,
        )
    build_s = time.perf_counter() - t
    target_s = BUILD_TARGET_S_PER_2M * args.sites / 2_000_000
    ref_s = args.sites / ref_rate
    print(
        f"write_dataset: {build_s:.1f} s for {args.sites:,} sites ({args.sites / build_s:,.0f} sites/s), file {out.stat().st_size / 2**20:.0f} MB"
    )
    print(f"  target {target_s:.0f} s -> {target_s / build_s:.1f}x faster than needed")
    print(
        f"  reference per-site pyfaidx fetch loop (sequences only: no shuffle, targets, compression or HDF5): {ref_rate:,.0f} sites/s"
        f" -> {ref_s:.0f} s extrapolated; the full build takes {build_s / ref_s:.2f}x that (phase times in the log lines above)"
    )
    print(f"  summary: {summary}")
    print(f"peak RSS after build: {peak_rss_mb():.0f} MB")
    del activity, sites

    n_train = dataset_info(out)["n_sites"]["train"]
    limit = args.loader_rows or n_train
    ds = H5Batches(out, "train", batch_size=128, shuffle=True, seed=args.seed)
    t = time.perf_counter()
    rows = 0
    for x, y in ds:
        rows += x.shape[0]
        if rows >= limit:
            break
    load_s = time.perf_counter() - t
    rate = rows / load_s
    print(
        f"loader (1 thread, shuffled, batch 128): {rows:,} rows in {load_s:.1f} s = {rate:,.0f} seq/s; target {LOADER_TARGET:,.0f} -> {rate / LOADER_TARGET:.1f}x"
    )

    # reference: the same rows already in memory, shuffled batches gathered with a permutation
    import h5py

    with h5py.File(out, "r") as h5:
        mx, my = h5["train/seqs"][:rows], h5["train/targets"][:rows]
    t = time.perf_counter()
    perm = np.random.default_rng(0).permutation(rows)
    for i in range(0, rows, 128):
        p = perm[i : i + 128]
        bx, by = torch.from_numpy(mx[p]), torch.from_numpy(my[p])
    mem_s = time.perf_counter() - t
    print(
        f"  in-memory shuffled batching of the same rows: {rows / mem_s:,.0f} seq/s -> loader runs at {mem_s / load_s:.2f}x of in-memory speed"
    )
    print(
        f"peak RSS (whole run, includes the in-memory reference copy of {(mx.nbytes + my.nbytes) / 2**20:.0f} MB): {peak_rss_mb():.0f} MB"
    )


if __name__ == "__main__":
    main()
