"""SAD scoring with a trained model: how far bfloat16 inference moves SAD, and how many torch threads to keep.

Issue 13 asks how far ``variants.bf16`` (bfloat16 autocast) moves the SAD values on the default model. This script
scores one VCF with a trained model (a workflow's ``model.pt``, for example the default run's) twice in the same
process, in float32 and under bf16 autocast on ``--device``, and prints the largest and the mean absolute difference
of the SAD, the largest difference of ``mean_sad``, the rank correlation of ``max_abs_sad`` between the two runs,
and the ratio of their wall times. The SAD files are written in float32, so that float16 storage hides nothing.

With ``--threads`` it also compares, on a CPU, the scoring process's torch threads beside the VCF reader process
(``stages.variants._CoreShare``): all of them, one left to the reader from the start, and the adaptive default
(all, unless the first chunks show the reader is the bottleneck), in variants/s, with the trained model on the
VCF and with bench_sad.py's trivial model on ``--trivial-variants`` random SNVs (the reader-bound case).

Usage::

    python benchmarks/bench_sad_model.py --model results/default/train/model.pt \
        --genome resources/simulated/genome.fa --vcf resources/simulated/snps.vcf.gz [--device cuda] [--threads]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))  # this checkout's code, not an installed one


def score(model, meta, genome, vcf, out: Path, device: str, bf16: bool) -> tuple[float, object, int]:
    """Seconds, the SAD frame (float32 file, so that float16 storage does not hide the difference) and records read."""
    from basset.sadfile import read_sad
    from basset.stages.variants import score_variants

    t = time.perf_counter()
    s = score_variants(model, genome, vcf, out, meta["target_names"], device=device, bf16=bf16,
                      dtype="float32")
    seconds = time.perf_counter() - t
    df = read_sad(out)
    return seconds, df, s["variants_read"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True, help="a trained model.pt")
    ap.add_argument("--genome", required=True, help="FASTA (indexed)")
    ap.add_argument("--vcf", required=True)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", action="store_true", help="also compare torch thread policies beside the reader")
    ap.add_argument("--trivial-variants", type=int, default=300_000,
                    help="random SNVs for the trivial model's thread comparison (default: %(default)s)")
    args = ap.parse_args()

    import scipy.stats
    import torch

    from basset.models import load_model

    model, meta = load_model(args.model, map_location=args.device)
    targets = meta["target_names"]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        t32, d32, n = score(model, meta, args.genome, args.vcf, tmp / "f32.h5", args.device, False)
        t16, d16, _ = score(model, meta, args.genome, args.vcf, tmp / "bf16.h5", args.device, True)
        diff = np.abs(d16[targets].to_numpy(np.float64) - d32[targets].to_numpy(np.float64))
        rho = scipy.stats.spearmanr(d32["max_abs_sad"], d16["max_abs_sad"]).statistic
        print(f"device {args.device}, torch {torch.__version__}, {len(d32)} variants scored of {n} read, "
              f"{len(targets)} targets")
        print(f"float32 {t32:.1f} s, bf16 {t16:.1f} s: bf16 speed-up {t32 / t16:.2f}x")
        print(f"|SAD bf16 - SAD float32|: max {diff.max():.4f}, mean {diff.mean():.5f}, "
              f"99th percentile {np.percentile(diff, 99):.4f}")
        print(f"|mean_sad| difference max {np.abs(d16['mean_sad'] - d32['mean_sad']).max():.4f}; "
              f"Spearman rho of max_abs_sad {rho:.4f}; "
              f"largest |SAD| float32 {np.abs(d32[targets].to_numpy()).max():.3f}")
        if args.threads:
            compare_threads(model, meta, args.genome, args.vcf, tmp, args.device, "trained model")
            sys.path.insert(0, str(Path(__file__).resolve().parent))
            import bench_sad

            rng = np.random.default_rng(0)
            seqs = bench_sad.write_genome(tmp / "g.fa", 4, 5.0, rng)
            bench_sad.write_vcf(tmp / "v.vcf.gz", seqs, args.trivial_variants, rng)
            trivial = bench_sad.trivial_model(len(targets))
            trivial.config = {"seq_len": model.config["seq_len"]}
            compare_threads(trivial, meta, tmp / "g.fa", tmp / "v.vcf.gz", tmp, "cpu", "trivial model")


def compare_threads(model, meta, genome, vcf, tmp: Path, device: str, label: str) -> None:
    """variants/s with each thread policy (a fresh pass each, in turn, twice; the best of the two)."""
    import torch

    import basset.stages.variants as sv

    class AllThreads(sv._CoreShare):
        def record(self, reader_cpu, worked):
            pass

    class OneLeft(sv._CoreShare):
        def __init__(self, device, probe=2):
            super().__init__(device, probe)
            torch.set_num_threads(max(1, self.threads - 1))
            self.active = False

    default = torch.get_num_threads()
    rates: dict[str, list[float]] = {}
    orig = sv._CoreShare
    try:
        for _ in range(2):
            for name, policy in (("all threads", AllThreads), ("one left", OneLeft), ("adaptive", orig)):
                sv._CoreShare = policy
                secs, _, n = score(model, meta, genome, vcf, tmp / "t.h5", device, False)
                rates.setdefault(name, []).append(n / secs)
    finally:
        sv._CoreShare = orig
        torch.set_num_threads(default)
    best = {k: max(v) for k, v in rates.items()}
    print(f"{label}, torch threads beside the reader ({default} by default), best of 2: "
          + ", ".join(f"{k} {v:,.0f} variants/s" for k, v in best.items())
          + f"; adaptive / best fixed {best['adaptive'] / max(best['all threads'], best['one left']):.2f}")


if __name__ == "__main__":
    main()
