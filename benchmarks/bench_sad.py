"""Benchmark of SAD scoring (basset.vcf, basset.sad, basset.sadfile, basset.stages.variants): throughput, memory
and file sizes on a streamed VCF, against the path of an earlier commit in the same run.

Makes a random genome (2 chromosomes x 10 Mb) and a random gzipped VCF of SNVs in ``benchmarks/out/sad/``
(or ``--workdir``): REF read from the genome, 1% of records written with REF and ALT exchanged (scored
swapped), 0.5% with a REF matching neither allele and 0.1% on a chromosome missing from the genome (both
skipped). Then, each in a fresh child process so that peak RSS belongs to that run alone:

* ``parse``: ``iter_vcf`` over the whole VCF (variants/s);
* ``windows``: ``iter_vcf`` + ``variant_sequences`` (reference and alternative codes, variants/s);
* ``score trivial``: ``score_variants`` with a trivial model (a Linear layer on the one-hot of the 4 central
  bases, ``--targets`` targets, 164 as the paper): everything but the CNN (parsing, windows, one-hot, rc
  averaging, the HDF5 file and the summary TSV), at full size;
* ``legacy trivial``: the same model through the scoring path of ``--legacy-rev`` (the git commit before issue 13:
  a TSV of every target, eye-indexed one-hot, no reader thread), its source checked out from git into the work
  folder, on ``--legacy-variants`` records (it is about 25x slower): the speed-up is the ratio of variants/s;
* ``score cpu`` / ``score basset``: the ``cpu`` and ``basset`` presets (random weights): the fraction of the wall
  time spent inside the model's forward (timed around it), on ``--model-variants`` / ``--basset-variants``.

Memory: RSS after setup (imports, genome, model), peak RSS (``ru_maxrss``) of the scoring process and of its VCF
reader process, and the sum of both RSS (an upper bound: pages the forked reader shares with its parent count twice)
sampled every 0.2 s (shown at 10%, 50% and 100% of the scoring wall time). The trivial scoring run is
repeated on the first ``--ref-fraction`` of the same VCF (default a tenth): peak-RSS ratios near 1 between the full
run and that reference, for the scoring process and for the reader process, mean memory does not grow with the
number of variants. File sizes: sad.h5 and sad.tsv.gz of the full run; the per-target TSV
(``sad_targets.tsv.gz``, ``variants.tsv_targets``) written from the tenth's sad.h5 and scaled by 10.

Usage: ``python benchmarks/bench_sad.py [--n-variants 1000000] [--targets 164]``; ``--quick`` for a small smoke
run.
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

if "--child" not in sys.argv:  # this checkout's basset, as the children get it (the legacy child: its own PYTHONPATH)
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _rss_of(pid) -> float:
    try:
        with open(f"/proc/{pid}/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, IndexError, ValueError):  # gone
        return 0.0


def _children(pid: int) -> list[int]:
    kids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    if int(fh.read().rsplit(")", 1)[1].split()[1]) == pid:
                        kids.append(int(entry))
            except (OSError, IndexError, ValueError):
                continue
    return kids


def memory_mb() -> float:
    """RSS of this process plus that of its children (the SAD reader process; pages a forked child shares with its
    parent count twice: an upper bound). Cheap to read, unlike smaps' PSS, which walks the page tables."""
    me = os.getpid()
    return _rss_of(me) + sum(_rss_of(k) for k in _children(me))


class RssSampler(threading.Thread):
    """Memory (:func:`memory_mb`) every ``interval`` seconds while running."""

    def __init__(self, interval: float = 0.2):
        super().__init__(daemon=True)
        self.interval, self.samples, self._halt = interval, [], threading.Event()

    def run(self):
        t0 = time.perf_counter()
        while not self._halt.is_set():
            self.samples.append((time.perf_counter() - t0, memory_mb()))
            self._halt.wait(self.interval)

    def stop(self) -> dict:
        self._halt.set()
        self.join()
        t = np.array([s[0] for s in self.samples])
        r = np.array([s[1] for s in self.samples])
        res = {f"rss_at_{p}pct_mb": float(r[min(np.searchsorted(t, t[-1] * p / 100), len(r) - 1)])
               for p in (10, 50, 100)}
        res["rss_trace_mb"] = [round(float(x)) for x in r[:: max(1, len(r) // 40)]]  # about 40 points
        res["sampled_peak_mb"] = float(r.max())
        return res


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

    class Centre(nn.Module):
        """(B, 4, L) -> (B, T): a Linear layer on the one-hot of the 4 central bases; reads almost nothing of its
        input, so that the run measures everything around the model."""

        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(16, n_targets)

        def forward(self, x):
            c = x.shape[-1] // 2
            return self.lin(x[:, :, c - 2 : c + 2].flatten(1))

    torch.manual_seed(0)
    return Centre()


class ForwardTimer:
    """Wall time spent inside a model's forward (the model's share of a scoring run)."""

    def __init__(self, model):
        self.seconds, self.calls = 0.0, 0
        self._forward = model.forward

        def timed(*a, **k):
            t = time.perf_counter()
            try:
                return self._forward(*a, **k)
            finally:
                self.seconds += time.perf_counter() - t
                self.calls += 1

        model.forward = timed


def child(args) -> dict:
    import torch

    from basset.sequence import Genome
    from basset.stages.variants import score_variants

    targets = [f"cell{i:03d}" for i in range(args.targets)]
    if args.threads:
        torch.set_num_threads(args.threads)
    genome = Genome(args.fasta)
    model = timer = None
    if args.child.startswith(("score_", "legacy_")):
        if args.child in ("score_cpu", "score_basset"):
            from basset.models import build_model
            from basset.presets import PRESETS

            torch.manual_seed(0)
            model = build_model(PRESETS[args.child.removeprefix("score_")], len(targets))
        else:
            model = trivial_model(len(targets))
        timer = ForwardTimer(model)
    res = {"mode": args.child, "setup_rss_mb": rss_mb(), "threads": torch.get_num_threads()}
    sampler = RssSampler()
    sampler.start()
    t = time.perf_counter()
    n = 0
    if args.child == "parse":
        from basset.vcf import iter_vcf

        for chunk in iter_vcf(args.vcf, chunk_size=args.chunk_size):
            n += len(chunk)
    elif args.child == "windows":
        from basset.vcf import iter_vcf, variant_sequences

        for chunk in iter_vcf(args.vcf, chunk_size=args.chunk_size):
            vs = variant_sequences(genome, chunk, args.seq_len)
            n += int(vs.kept.sum())
    elif args.child == "legacy_trivial":  # the earlier commit's signature: a TSV of every target
        summary = score_variants(model, genome, args.vcf, args.out, targets, seq_len=args.seq_len,
                                 batch_size=args.batch_size, chunk_size=args.chunk_size, rc_average=True)
        n = summary["variants_read"]
        res["summary"] = summary
    else:
        out = Path(args.out)
        summary = score_variants(model, genome, args.vcf, out / "sad.h5", targets, seq_len=args.seq_len,
                                 batch_size=args.batch_size, chunk_size=args.chunk_size, rc_average=True,
                                 table=out / "sad.tsv.gz", rejects=out / "sad.rejects.tsv.gz")
        n = summary["variants_read"]
        res["summary"] = summary
        res["files_mb"] = {p.name: p.stat().st_size / 1e6 for p in out.iterdir()}
    res["seconds"] = time.perf_counter() - t
    res.update(sampler.stop())
    if timer is not None:
        res["model_seconds"], res["model_calls"] = timer.seconds, timer.calls
    res["variants"] = n
    res["variants_per_s"] = n / res["seconds"]
    res["peak_rss_mb"] = peak_rss_mb()
    res["reader_peak_rss_mb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    genome.close()
    return res


def run_child(script_args: list[str], env: dict | None = None) -> dict:
    """Run a measurement in a fresh process on this checkout's ``src/`` (or ``env``'s PYTHONPATH)."""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent / "src"), **(env or {})}
    out = subprocess.run([sys.executable, __file__, *script_args], capture_output=True, text=True, env=env)
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


def legacy_source(rev: str, workdir: Path) -> Path:
    """The ``src/`` of git revision ``rev``, extracted under ``workdir`` (once)."""
    dest = workdir / f"legacy-{rev}"
    if not (dest / "src" / "basset").is_dir():
        dest.mkdir(parents=True, exist_ok=True)
        root = Path(__file__).resolve().parents[1]
        archive = subprocess.run(["git", "-C", str(root), "archive", rev, "src"], capture_output=True, check=True)
        subprocess.run(["tar", "-x", "-C", str(dest)], input=archive.stdout, check=True)
    return dest / "src"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                 formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    ap.add_argument("--n-variants", type=int, default=1_000_000,
                    help="SNVs in the VCF (parse, windows and trivial-model runs)")
    ap.add_argument("--targets", type=int, default=164, help="targets of every model (the paper's 164)")
    ap.add_argument("--legacy-rev", default="424bd17", help="git revision of the path compared against")
    ap.add_argument("--legacy-variants", type=int, default=100_000, help="SNVs scored through the legacy path")
    ap.add_argument("--model-variants", type=int, default=4_000, help="SNVs scored with the cpu preset")
    ap.add_argument("--basset-variants", type=int, default=500, help="SNVs scored with the basset preset")
    ap.add_argument("--skip", nargs="*", default=[], choices=["legacy", "cpu", "basset", "reference"],
                    help="runs to leave out")
    ap.add_argument("--ref-fraction", type=float, default=0.1, help="size of the memory reference run")
    ap.add_argument("--chroms", type=int, default=2)
    ap.add_argument("--chrom-mb", type=float, default=10.0)
    ap.add_argument("--seq-len", type=int, default=600)
    ap.add_argument("--chunk-size", type=int, default=10_000, help="VCF records per chunk (variants.chunk_size)")
    ap.add_argument("--batch-size", type=int, default=256)
    ap.add_argument("--threads", type=int, default=0, help="torch threads in the children (0: torch's default)")
    ap.add_argument("--quick", action="store_true", help="small smoke run: 50,000 variants, 2 x 1 Mb")
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
        args.n_variants, args.legacy_variants, args.model_variants, args.basset_variants = 50_000, 5_000, 500, 50
        args.chrom_mb = 1.0
    args.workdir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(args.seed)
    fasta = args.workdir / "genome.fa"
    t = time.perf_counter()
    seqs = write_genome(fasta, args.chroms, args.chrom_mb, rng)
    n_max = args.n_variants
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
              "--batch-size", str(args.batch_size), "--targets", str(args.targets), "--threads", str(args.threads)]
    tenth = max(1, int(n_max * args.ref_fraction))
    plan = [("parse", n_max), ("windows", n_max), ("score_trivial", n_max)]
    if "reference" not in args.skip:
        plan.append(("score_trivial", tenth))
    if "legacy" not in args.skip:
        plan.append(("legacy_trivial", min(args.legacy_variants, n_max)))
    if "cpu" not in args.skip:
        plan.append(("score_cpu", min(args.model_variants, n_max)))
    if "basset" not in args.skip:
        plan.append(("score_basset", min(args.basset_variants, n_max)))
    rows = []
    for mode, size in plan:
        print(f"running {mode} on {size:,} variants ...", flush=True)
        out = args.workdir / f"{mode}_{size}"
        env = None
        if mode == "legacy_trivial":
            out = args.workdir / f"{mode}_{size}.tsv.gz"
            env = {"PYTHONPATH": str(legacy_source(args.legacy_rev, args.workdir))}
        else:
            out.mkdir(exist_ok=True)
        r = run_child(["--child", mode, "--vcf", str(subset(size)), "--out", str(out), *common], env)
        r["size"] = size
        r["out"] = str(out)
        rows.append(r)
        s = r.get("summary", {})
        extra = (f"; scored {s['scored']:,}, swapped {s['swapped']:,}, mismatched {s['ref_mismatch_skipped']:,}, "
                 f"unknown chrom {s['unknown_chrom_skipped']:,}" if s else "")
        if "model_seconds" in r:
            extra += f"; model forward {r['model_seconds']:.1f} s = {100 * r['model_seconds'] / r['seconds']:.1f} %"
        print(f"  {r['variants']:,} variants in {r['seconds']:.1f} s = {r['variants_per_s']:,.0f} variants/s; "
              f"RSS after setup {r['setup_rss_mb']:.0f} MB, at 10/50/100% of the run "
              f"{r['rss_at_10pct_mb']:.0f}/{r['rss_at_50pct_mb']:.0f}/{r['rss_at_100pct_mb']:.0f} MB, "
              f"peak {r['peak_rss_mb']:.0f} MB (reader process {r['reader_peak_rss_mb']:.0f} MB); RSS of both "
              f"(sampled) peak {r['sampled_peak_mb']:.0f} MB{extra}", flush=True)
    print(f"\nsummary ({args.targets} targets; torch threads: {rows[0]['threads']}; one fresh process per row)")
    print(f"{'run':<16}{'variants':>11}{'seconds':>10}{'variants/s':>12}{'model %':>9}{'setup MB':>10}{'peak MB':>9}"
          f"{'both MB':>10}")
    for r in rows:
        share = f"{100 * r['model_seconds'] / r['seconds']:.1f}" if "model_seconds" in r else "-"
        print(f"{r['mode']:<16}{r['size']:>11,}{r['seconds']:>10.1f}{r['variants_per_s']:>12,.0f}{share:>9}"
              f"{r['setup_rss_mb']:>10.0f}{r['peak_rss_mb']:>9.0f}{r['sampled_peak_mb']:>10.0f}")
    full = next(r for r in rows if r["mode"] == "score_trivial" and r["size"] == n_max)
    ref = next((r for r in rows if r["mode"] == "score_trivial" and r["size"] == tenth and r is not full), None)
    legacy = next((r for r in rows if r["mode"] == "legacy_trivial"), None)
    print(f"\nscore_trivial: {full['variants_per_s']:,.0f} variants/s (target 50,000) on {n_max:,} SNVs x "
          f"{args.targets} targets")
    if legacy:
        print(f"speed-up over {args.legacy_rev} (legacy_trivial, {legacy['size']:,} SNVs): "
              f"{full['variants_per_s'] / legacy['variants_per_s']:.1f}x (target 25x)")
    if ref:
        print(f"memory: peak RSS (ru_maxrss) of the scoring process {full['peak_rss_mb']:.0f} MB ({n_max:,}) / "
              f"{ref['peak_rss_mb']:.0f} MB ({tenth:,}) = {full['peak_rss_mb'] / ref['peak_rss_mb']:.2f}, of the "
              f"reader process {full['reader_peak_rss_mb']:.0f} / {ref['reader_peak_rss_mb']:.0f} MB = "
              f"{full['reader_peak_rss_mb'] / ref['reader_peak_rss_mb']:.2f} (target <= 1.1 each); both together "
              f"(sum of RSS, sampled): {full['sampled_peak_mb']:.0f} / {ref['sampled_peak_mb']:.0f} MB")
    print("files of the full run: " + ", ".join(f"{k} {v:.1f} MB" for k, v in sorted(full["files_mb"].items())))
    if ref:
        from basset.sadfile import write_sad_tsv

        t = time.perf_counter()
        tsv = Path(ref["out"]) / "sad_targets.tsv.gz"
        write_sad_tsv(Path(ref["out"]) / "sad.h5", tsv)
        print(f"per-target TSV of the tenth: {tsv.stat().st_size / 1e6:.1f} MB in {time.perf_counter() - t:.1f} s "
              f"-> about {tsv.stat().st_size / 1e6 * n_max / tenth:,.0f} MB for {n_max:,} variants")
    for r in rows:
        if r["mode"] in ("score_cpu", "score_basset"):
            print(f"{r['mode']}: {r['variants_per_s']:,.1f} variants/s, model forward "
                  f"{100 * r['model_seconds'] / r['seconds']:.1f} % of the time")


if __name__ == "__main__":
    main()
