"""Benchmark of SAD scoring (basset.vcf, basset.sad, basset.stages.variants): throughput and memory on a
streamed VCF.

Makes a random genome (2 chromosomes x 10 Mb) and a random gzipped VCF of SNVs in ``benchmarks/out/sad/``
(or ``--workdir``): REF read from the genome, 1% of records written with REF and ALT exchanged (scored
swapped), 0.5% with a REF matching neither allele and 0.1% on a chromosome missing from the genome (both
skipped). Then, each in a fresh child process so that peak RSS belongs to that run alone:

* ``parse``: ``iter_vcf`` over the whole VCF (variants/s);
* ``windows``: ``iter_vcf`` + ``variant_sequences`` (reference and alternative codes, variants/s);
* ``score trivial``: ``score_variants`` with a trivial model (a Linear layer on the base composition,
  21 targets): everything but the CNN (parsing, windows, one-hot, rc averaging, TSV writing), at full size;
* ``score cpu``: ``score_variants`` with the ``cpu`` preset (21 targets, random weights), the real cost.
  On CPU it is bound by inference (4 forward sequences per variant with rc averaging: about 90 variants/s
  on 2 cores), so it runs on ``--model-variants`` (default 20,000) rather than the full VCF.

Memory: RSS after setup (imports, genome, model), peak RSS (``ru_maxrss``) and RSS sampled at 10%, 50% and
100% of the scoring wall time. Each scoring run is repeated on the first ``--ref-fraction`` of the same
VCF (default a tenth): a peak-RSS ratio near 1 between the full run and that reference means memory does
not grow with the number of variants (the VCF is streamed ``--chunk-size`` records at a time).

Allocator note: with the default glibc settings the per-batch tensors of ``predict_codes`` (one-hot,
reverse complement, a few MB each) can fragment the heap once glibc raises its dynamic mmap threshold; in
some runs RSS then jumps once by ~0.8 GB during the first chunk and stays there (bounded, not growing with
the number of variants). ``--fixed-mmap-threshold`` runs the children with ``MALLOC_MMAP_THRESHOLD_=131072``
to show that this is the allocator and not data kept by the streaming.

Usage: ``python benchmarks/bench_sad.py [--n-variants 1000000] [--model-variants 20000] [--model both]``;
``--quick`` for a small smoke run.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd

TARGETS = [f"cell{i:02d}" for i in range(21)]


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


class RssSampler(threading.Thread):
    """Current RSS every ``interval`` seconds while running."""

    def __init__(self, interval: float = 0.1):
        super().__init__(daemon=True)
        self.interval, self.samples, self._halt = interval, [], threading.Event()

    def run(self):
        t0 = time.perf_counter()
        while not self._halt.is_set():
            self.samples.append((time.perf_counter() - t0, rss_mb()))
            self._halt.wait(self.interval)

    def stop(self) -> dict:
        self._halt.set()
        self.join()
        t = np.array([s[0] for s in self.samples])
        r = np.array([s[1] for s in self.samples])
        return {f"rss_at_{p}pct_mb": float(r[min(np.searchsorted(t, t[-1] * p / 100), len(r) - 1)])
                for p in (10, 50, 100)}


# ------------------------------------------------------------------------------------------ inputs
def write_genome(path: Path, n_chroms: int, chrom_mb: float, rng) -> dict[str, np.ndarray]:
    """Random ACGT FASTA (60 bp lines) with its .fai; returns the codes of each chromosome."""
    letters = np.frombuffer(b"ACGT", dtype=np.uint8)
    seqs, offset = {}, 0
    with open(path, "wb") as fa, open(str(path) + ".fai", "w") as fai:
        for i in range(n_chroms):
            name, size = f"chr{i + 1}", int(chrom_mb * 1e6)
            codes = rng.integers(0, 4, size, dtype=np.uint8)
            seqs[name] = codes
            header = f">{name}\n".encode()
            fa.write(header)
            offset += len(header)
            full = size // 60
            body = np.empty((full, 61), dtype=np.uint8)
            body[:, :60] = letters[codes[: full * 60]].reshape(full, 60)
            body[:, 60] = ord("\n")
            fa.write(body.tobytes())
            tail = letters[codes[full * 60 :]].tobytes()
            fa.write(tail + b"\n" if tail else b"")
            fai.write(f"{name}\t{size}\t{offset}\t60\t61\n")
            offset += body.size + (len(tail) + 1 if tail else 0)
    return seqs


def write_vcf(path: Path, seqs: dict[str, np.ndarray], n: int, rng) -> None:
    """Random SNVs sorted by chromosome and position (vectorised; pandas writes the gzip text)."""
    names = list(seqs)
    lens = np.array([seqs[c].size for c in names])
    which = np.sort(rng.choice(len(names), n, p=lens / lens.sum()))
    pos0 = np.empty(n, dtype=np.int64)
    for k, c in enumerate(names):  # one iteration per chromosome
        rows = which == k
        pos0[rows] = np.sort(rng.integers(0, lens[k], rows.sum()))
    ref = np.empty(n, dtype=np.uint8)
    for k, c in enumerate(names):
        rows = which == k
        ref[rows] = seqs[c][pos0[rows]]
    alt = (ref + 1 + rng.integers(0, 3, n)) % 4
    u = rng.random(n)
    swap, mismatch, unknown = u < 0.01, (u >= 0.01) & (u < 0.015), (u >= 0.015) & (u < 0.016)
    ref_w, alt_w = np.where(swap, alt, ref), np.where(swap, ref, alt)
    third = (np.maximum(ref, alt) + 1) % 4  # neither allele: a base different from both
    third = np.where((third == ref) | (third == alt), (third + 1) % 4, third)
    ref_w = np.where(mismatch, third, ref_w)
    letters = np.array(list("ACGT"), dtype=object)
    chrom = np.array(names, dtype=object)[which]
    chrom[unknown] = "chrUn_bench"
    df = pd.DataFrame({"#CHROM": chrom, "POS": pos0 + 1, "ID": [f"rs{i}" for i in range(1, n + 1)],
                       "REF": letters[ref_w], "ALT": letters[alt_w], "QUAL": ".", "FILTER": "PASS", "INFO": "."})
    with open(path, "wb") as raw:
        import gzip

        with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=1) as gz:
            gz.write(b"##fileformat=VCFv4.2\n")
            gz.write(df.to_csv(sep="\t", index=False).encode())


# ------------------------------------------------------------------------------------------ children
def trivial_model(n_targets: int):
    import torch
    from torch import nn

    class Composition(nn.Module):
        """(B, 4, L) -> (B, T): a Linear layer on the base composition; costs almost nothing."""

        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(4, n_targets)

        def forward(self, x):
            return self.lin(x.mean(dim=-1))

    torch.manual_seed(0)
    return Composition()


def child(args) -> dict:
    import torch

    from basset.sequence import Genome
    from basset.stages.variants import score_variants
    from basset.vcf import iter_vcf, variant_sequences

    genome = Genome(args.fasta)
    model = None
    if args.child in ("score_cpu", "score_trivial"):
        if args.child == "score_cpu":
            from basset.models import build_model
            from basset.presets import PRESETS

            torch.manual_seed(0)
            model = build_model(PRESETS["cpu"], len(TARGETS))
        else:
            model = trivial_model(len(TARGETS))
    res = {"mode": args.child, "setup_rss_mb": rss_mb(), "threads": torch.get_num_threads()}
    sampler = RssSampler()
    sampler.start()
    t = time.perf_counter()
    n = 0
    if args.child == "parse":
        for chunk in iter_vcf(args.vcf, chunk_size=args.chunk_size):
            n += len(chunk)
    elif args.child == "windows":
        for chunk in iter_vcf(args.vcf, chunk_size=args.chunk_size):
            vs = variant_sequences(genome, chunk, args.seq_len)
            n += int(vs.kept.sum())
    else:
        summary = score_variants(model, genome, args.vcf, args.out, TARGETS, seq_len=args.seq_len,
                                 batch_size=args.batch_size, chunk_size=args.chunk_size, rc_average=True)
        n = summary["variants_read"]
        res["summary"] = summary
    res["seconds"] = time.perf_counter() - t
    res.update(sampler.stop())
    res["variants"] = n
    res["variants_per_s"] = n / res["seconds"]
    res["peak_rss_mb"] = peak_rss_mb()
    genome.close()
    return res


def run_child(script_args: list[str], env: dict | None = None) -> dict:
    out = subprocess.run([sys.executable, __file__, *script_args], capture_output=True, text=True,
                         env={**os.environ, **(env or {})})
    if out.returncode:
        sys.exit(f"child {script_args[:2]} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def first_records(src: Path, dst: Path, n: int) -> None:
    """The header and the first ``n`` records of a gzipped VCF (the reference run's input)."""
    import gzip

    with gzip.open(src, "rt") as fin, gzip.open(dst, "wt", compresslevel=1) as fout:
        k = 0
        for line in fin:
            if not line.startswith("#"):
                if k == n:
                    break
                k += 1
            fout.write(line)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                 formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    ap.add_argument("--n-variants", type=int, default=1_000_000,
                    help="SNVs in the VCF (parse, windows and trivial-model runs)")
    ap.add_argument("--model-variants", type=int, default=20_000,
                    help="SNVs scored with the cpu preset (inference-bound: ~90 variants/s on 2 CPU cores)")
    ap.add_argument("--model", choices=["both", "trivial", "cpu"], default="both")
    ap.add_argument("--ref-fraction", type=float, default=0.1, help="size of the memory reference run")
    ap.add_argument("--chroms", type=int, default=2)
    ap.add_argument("--chrom-mb", type=float, default=10.0)
    ap.add_argument("--seq-len", type=int, default=600)
    ap.add_argument("--chunk-size", type=int, default=50_000)
    ap.add_argument("--batch-size", type=int, default=256)
    ap.add_argument("--fixed-mmap-threshold", action="store_true",
                    help="run the children with MALLOC_MMAP_THRESHOLD_=131072 (see the allocator note)")
    ap.add_argument("--quick", action="store_true", help="small smoke run: 50,000 / 1,000 variants, 2 x 1 Mb")
    ap.add_argument("--workdir", type=Path, default=Path(__file__).parent / "out" / "sad")
    ap.add_argument("--seed", type=int, default=1)
    # child mode (internal): one measurement in a fresh process, JSON on stdout
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--fasta", help=argparse.SUPPRESS)
    ap.add_argument("--vcf", help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(args)))
        return
    if args.quick:
        args.n_variants, args.model_variants, args.chrom_mb = 50_000, 1_000, 1.0
    args.workdir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(args.seed)
    fasta = args.workdir / "genome.fa"
    t = time.perf_counter()
    seqs = write_genome(fasta, args.chroms, args.chrom_mb, rng)
    n_max = max(args.n_variants, args.model_variants if args.model != "trivial" else 0)
    vcf = args.workdir / f"snvs_{n_max}.vcf.gz"
    write_vcf(vcf, seqs, n_max, rng)
    del seqs
    print(f"inputs: {args.chroms} x {args.chrom_mb:g} Mb genome, {n_max:,} SNVs ({vcf.stat().st_size / 1e6:.1f} MB "
          f"gzipped) in {time.perf_counter() - t:.1f} s -> {args.workdir}", flush=True)

    def subset(n: int) -> Path:
        if n >= n_max:
            return vcf
        p = args.workdir / f"snvs_{n}.vcf.gz"
        first_records(vcf, p, n)
        return p

    common = ["--fasta", str(fasta), "--seq-len", str(args.seq_len), "--chunk-size", str(args.chunk_size),
              "--batch-size", str(args.batch_size)]
    plan = [("parse", args.n_variants), ("windows", args.n_variants)]
    if args.model in ("both", "trivial"):
        plan.append(("score_trivial", args.n_variants))
    if args.model in ("both", "cpu"):
        plan.append(("score_cpu", args.model_variants))
    rows = []
    for mode, n in plan:
        sizes = [n] if mode in ("parse", "windows") else [max(1, int(n * args.ref_fraction)), n]
        for size in sizes:
            print(f"running {mode} on {size:,} variants ...", flush=True)
            out = args.workdir / f"sad_{mode}_{size}.tsv.gz"
            env = {"MALLOC_MMAP_THRESHOLD_": "131072"} if args.fixed_mmap_threshold else None
            r = run_child(["--child", mode, "--vcf", str(subset(size)), "--out", str(out), *common], env)
            r["size"] = size
            rows.append(r)
            s = r.get("summary", {})
            extra = (f"; scored {s['scored']:,}, swapped {s['swapped']:,}, mismatched {s['ref_mismatch_skipped']:,}, "
                     f"unknown chrom {s['unknown_chrom_skipped']:,}" if s else "")
            print(f"  {r['variants']:,} variants in {r['seconds']:.1f} s = {r['variants_per_s']:,.0f} variants/s; "
                  f"RSS after setup {r['setup_rss_mb']:.0f} MB, at 10/50/100% of the run "
                  f"{r['rss_at_10pct_mb']:.0f}/{r['rss_at_50pct_mb']:.0f}/{r['rss_at_100pct_mb']:.0f} MB, "
                  f"peak {r['peak_rss_mb']:.0f} MB{extra}", flush=True)
    print("\nsummary (torch threads: %d; one fresh process per row%s)" % (
        rows[0]["threads"], "; MALLOC_MMAP_THRESHOLD_=131072" if args.fixed_mmap_threshold else ""))
    print(f"{'run':<15}{'variants':>11}{'seconds':>10}{'variants/s':>12}{'setup MB':>10}{'peak MB':>9}")
    for r in rows:
        print(f"{r['mode']:<15}{r['size']:>11,}{r['seconds']:>10.1f}{r['variants_per_s']:>12,.0f}"
              f"{r['setup_rss_mb']:>10.0f}{r['peak_rss_mb']:>9.0f}")
    for mode in ("score_trivial", "score_cpu"):
        pair = [r for r in rows if r["mode"] == mode]
        if len(pair) == 2:
            small, big = pair
            print(f"{mode}: peak RSS {big['size']:,} vs {small['size']:,} variants = {big['peak_rss_mb']:.0f} / "
                  f"{small['peak_rss_mb']:.0f} MB, ratio {big['peak_rss_mb'] / small['peak_rss_mb']:.2f} (1 = flat); "
                  f"growth beyond setup {big['peak_rss_mb'] - big['setup_rss_mb']:.0f} vs "
                  f"{small['peak_rss_mb'] - small['setup_rss_mb']:.0f} MB")
    cpu = [r for r in rows if r["mode"] == "score_cpu"]
    if cpu:
        rate = cpu[-1]["variants_per_s"]
        print(f"score_cpu: {rate:,.0f} variants/s = {4 * rate:,.0f} forward sequences/s (ref + alt, each with its "
              f"reverse complement); 1,000,000 variants would take {1e6 / rate / 3600:.1f} h on this machine")


if __name__ == "__main__":
    main()
