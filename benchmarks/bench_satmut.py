"""Benchmark in-silico saturation mutagenesis: basset.ism.ism vs tangermeme's fastISM and vs naive ISM.

Model: the Basset preset (600 bp, conv 300x19/200x11/200x7, pools 3/4/4, dense 1000/1000, 164 targets), freshly
initialised (seed 0) with random batch-norm running statistics, in eval mode, float32 on the CPU with
``torch.set_num_threads(2)``. Inputs: random ACGT sequences; every position of the window is mutated to its 3
other bases. All three methods return sigmoid probabilities (tangermeme runs the model wrapped as
``sigmoid(model(x))``) and the outputs are checked against each other.

- ours:        ``basset.ism.ism`` (cached reference, conv layers propagated as changes)
- tangermeme:  ``tangermeme.saturation_mutagenesis.saturation_mutagenesis(fast=True, raw_outputs=True)``, the whole
               call (its first batch without the fast path, torch.export capture, verification against the slow
               path). Its rule "use the fast path only for jobs over 30 s" is switched off so that it is always
               used. "tangermeme steady" times only its captured fast path (``_FastISM.predict_edits``), i.e.
               without those one-off costs: the fairest like-for-like number.
- naive:       ``basset.ism.ism_naive`` (the full model on every mutant), on ``--naive-seqs`` sequences
               (its throughput is linear in the number of sequences).

Ours, tangermeme's steady fast path and naive are timed ``--repeats`` times, interleaved, and the best time of
each is kept: on a shared machine other jobs slow whichever method runs during a busy spell (with 2 threads
on 2 busy cores every parallel op waits for a descheduled thread, which costs many-small-op methods most).

Throughput is mutated positions per second (sequences x positions / s; each position = 3 mutants). Targets:
ours >= 1.5x tangermeme fast, >= 6x naive.

    python benchmarks/bench_satmut.py [--n-seqs 8] [--naive-seqs 2] [--batch-size 1024] [--repeats 2] [--threads 2]
                                      [--quick]
"""

from __future__ import annotations

import argparse
import os
import time
import warnings

import numpy as np
import torch

from basset.ism import ism, ism_naive
from basset.models import PRESETS, build_model, model_config
from basset.sequence import one_hot

TARGET_TANGERMEME = 1.5
TARGET_NAIVE = 6.0


def basset_model(seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    model = build_model(model_config("basset"), 164)
    gen = torch.Generator().manual_seed(seed + 1)
    for mod in model.modules():  # non-trivial eval-mode batch norm, as in a trained model
        if isinstance(mod, torch.nn.BatchNorm1d):
            mod.running_mean.copy_(0.2 * torch.randn(mod.num_features, generator=gen))
            mod.running_var.copy_(0.5 + torch.rand(mod.num_features, generator=gen))
    return model.eval()


class Probabilities(torch.nn.Module):
    """The model with a sigmoid on top, so that tangermeme sees the same quantity as ``ism``."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, x):
        return torch.sigmoid(self.model(x))


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def tangermeme_call(model, codes, start, end, batch_size):
    """``saturation_mutagenesis(fast=True)`` as a user calls it: ``(ISM (N, L_win, 4, T), seconds)``."""
    import tangermeme.saturation_mutagenesis as tsm

    tsm._FAST_MIN_SECONDS = 0.0  # always take the fast path (see the module docstring)
    X = one_hot(torch.as_tensor(codes))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        (y0, y_hat), seconds = timed(lambda: tsm.saturation_mutagenesis(
            Probabilities(model).eval(), X, start=start, end=end, batch_size=batch_size, raw_outputs=True,
            device="cpu", fast=True))
    fallbacks = [str(w.message) for w in caught if "fast=False" in str(w.message)]
    if fallbacks:
        raise RuntimeError(f"tangermeme did not use its fast path: {fallbacks[0]}")
    return y_hat.permute(0, 2, 1, 3).numpy(), seconds


def tangermeme_steady(model, codes, start, end, batch_size):
    """A function running only tangermeme's captured fast path (``_FastISM.predict_edits``) on every sequence."""
    import tangermeme.saturation_mutagenesis as tsm
    from tangermeme._fastism import _FastISM

    X8 = one_hot(torch.as_tensor(codes)).type(torch.int8)
    with torch.no_grad():
        fast = _FastISM(Probabilities(model).eval(), X8, None, start, end, torch.device("cpu"), torch.float32, False)

    def run():
        with torch.no_grad():
            for i in range(X8.shape[0]):
                _, chars, positions = tsm._single_edits(X8[i], start, end)
                fast.predict_edits(i, chars, positions, batch_size)

    return run


def ensure_tangermeme() -> None:
    """Install tangermeme (the reference implementation; not a dependency of basset) when it is missing."""
    import importlib.util
    import subprocess
    import sys

    if importlib.util.find_spec("tangermeme") is None:
        print("installing tangermeme (the reference) with pip", flush=True)
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "tangermeme"], check=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("--n-seqs", type=int, default=8, help="sequences for ours and tangermeme (default 8)")
    ap.add_argument("--naive-seqs", type=int, default=2, help="sequences for naive ISM (default 2)")
    ap.add_argument("--batch-size", type=int, default=1024, help="mutants per step, ours and tangermeme (default 1024)")
    ap.add_argument("--naive-batch-size", type=int, default=256, help="mutants per forward pass, naive (default 256)")
    ap.add_argument("--repeats", type=int, default=2, help="interleaved timings of each method; the best is kept")
    ap.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
    ap.add_argument("--quick", action="store_true", help="2 sequences, the central 200 bp, 1 naive sequence")
    args = ap.parse_args()
    ensure_tangermeme()
    torch.set_num_threads(args.threads)
    L = PRESETS["basset"]["seq_len"]
    n_seqs, naive_seqs, start, end = args.n_seqs, min(args.naive_seqs, args.n_seqs), 0, L
    if args.quick:
        n_seqs, naive_seqs, start, end = 2, 1, L // 2 - 100, L // 2 + 100
    width = end - start
    model = basset_model()
    codes = np.random.default_rng(0).integers(0, 4, size=(n_seqs, L), dtype=np.uint8)
    print(f"Basset preset, {L} bp, 164 targets, {torch.get_num_threads()} threads; window [{start}, {end}), "
          f"{n_seqs} sequences ({naive_seqs} for naive), batch {args.batch_size} (naive {args.naive_batch_size}), "
          f"load average before {os.getloadavg()[0]:.1f}")

    tang, t_call = tangermeme_call(model, codes, start, end, args.batch_size)
    steady = tangermeme_steady(model, codes, start, end, args.batch_size)
    ism(model, codes[:1], start, start + 20, batch_size=args.batch_size)  # warm up oneDNN/MKL kernels
    methods = {
        "ours (basset.ism.ism)": (n_seqs, lambda: ism(model, codes, start, end, batch_size=args.batch_size)),
        "tangermeme fast path, steady": (n_seqs, steady),
        "naive (ism_naive)": (naive_seqs, lambda: ism_naive(model, codes[:naive_seqs], start, end,
                                                            batch_size=args.naive_batch_size)),
    }
    times = {name: [] for name in methods}
    outputs = {}
    for _ in range(args.repeats):  # interleaved, so that a busy spell on the machine hits every method
        for name, (_, fn) in methods.items():
            outputs[name], seconds = timed(fn)
            times[name].append(seconds)

    rate = {name: methods[name][0] * width / min(t) for name, t in times.items()}
    rate["tangermeme fast=True, whole call"] = n_seqs * width / t_call
    times["tangermeme fast=True, whole call"] = [t_call]
    ours = rate["ours (basset.ism.ism)"]
    print(f"{'method':36s} {'best s':>8s} {'pos/s':>9s} {'ours x':>7s}   all timings (s)")
    for name in ("ours (basset.ism.ism)", "tangermeme fast path, steady", "tangermeme fast=True, whole call",
                 "naive (ism_naive)"):
        print(f"{name:36s} {min(times[name]):8.2f} {rate[name]:9.1f} {ours / rate[name]:7.2f}   "
              + " ".join(f"{t:.2f}" for t in times[name]))
    mine, naive = outputs["ours (basset.ism.ism)"], outputs["naive (ism_naive)"]
    print(f"max |ours - naive|      = {np.abs(mine[:naive_seqs] - naive).max():.2e}")
    print(f"max |ours - tangermeme| = {np.abs(mine - tang).max():.2e}")
    print(f"speed-up vs tangermeme: {ours / rate['tangermeme fast path, steady']:.2f}x steady, "
          f"{ours / rate['tangermeme fast=True, whole call']:.2f}x whole call (target {TARGET_TANGERMEME}x); "
          f"vs naive: {ours / rate['naive (ism_naive)']:.2f}x (target {TARGET_NAIVE}x); "
          f"load average after {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
