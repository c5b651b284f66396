"""Benchmark the coverage models' training and inference speed (windows/s) on this machine's device, with bf16
autocast off and on (``--amp``), for a preset (``basenji``, the paper's 131,072 bp; ``basenji_small``, the default
run's 16,384 bp): the trainer's own step (:func:`basset.train.train_step`: one-hot on the device, Poisson loss,
optimiser) on random windows and targets, and ``torch.inference_mode`` forward passes. The reference in the same
process is fp32 on the same device; the bf16 line prints its ratio to it and the largest difference of the predicted
counts on the same windows.

    python benchmarks/bench_basenji.py [--preset basenji] [--batch 4] [--steps 10] [--device cuda] [--amp]
"""

from __future__ import annotations

import argparse
import os
import time

import torch

from basset.device import resolve_device
from basset.models import build_model
from basset.presets import model_config, output_bins, receptive_field
from basset.sequence import one_hot
from basset.train import make_optimizer, train_options, train_step


def sync(device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed_steps(model, device, batch: int, steps: int, amp) -> float:
    cfg = model.config
    opt = make_optimizer(model, train_options({"optimizer": "adam", "lr": 1e-4}))
    codes = torch.randint(0, 4, (batch, cfg["seq_len"]), dtype=torch.uint8, device=device)
    targets = torch.rand(batch, cfg["seq_len"] // cfg["bin_size"], model.n_targets, device=device) * 5
    model.train()
    train_step(model, opt, codes, targets, device, amp)  # warm-up (cuDNN autotuning, allocations)
    sync(device)
    t0 = time.perf_counter()
    for _ in range(steps):
        train_step(model, opt, codes, targets, device, amp)
    sync(device)
    return batch * steps / (time.perf_counter() - t0)


@torch.inference_mode()
def timed_inference(model, device, batch: int, steps: int, amp) -> tuple[float, torch.Tensor]:
    cfg = model.config
    gen = torch.Generator(device="cpu").manual_seed(0)
    codes = torch.randint(0, 4, (batch, cfg["seq_len"]), dtype=torch.uint8, generator=gen).to(device)
    model.eval()
    ctx = torch.autocast(device.type, dtype=amp) if amp is not None else torch.autocast(device.type, enabled=False)
    with ctx:
        out = model(one_hot(codes)).float()
        sync(device)
        t0 = time.perf_counter()
        for _ in range(steps):
            model(one_hot(codes))
        sync(device)
    return batch * steps / (time.perf_counter() - t0), out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="basenji_small", choices=["basenji", "basenji_small"])
    ap.add_argument("--tracks", type=int, default=64)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--amp", action="store_true", help="also bf16 autocast (meant for CUDA)")
    args = ap.parse_args()
    device = resolve_device(args.device)
    torch.manual_seed(0)
    model = build_model(model_config(args.preset), args.tracks).to(device)
    cfg = model.config
    print(f"{args.preset}: {cfg['seq_len']:,} bp in, {output_bins(cfg)} bins of {cfg['bin_size']} bp, "
          f"{args.tracks} tracks, receptive field {receptive_field(cfg):,} bp, "
          f"{sum(p.numel() for p in model.parameters()):,} parameters; device {device}, batch {args.batch}, "
          f"load {os.getloadavg()[0]:.2f}")
    train32 = timed_steps(model, device, args.batch, args.steps, None)
    infer32, out32 = timed_inference(model, device, args.batch, args.steps, None)
    print(f"  fp32: training {train32:8.2f} windows/s, inference {infer32:8.2f} windows/s")
    if args.amp:
        train16 = timed_steps(model, device, args.batch, args.steps, torch.bfloat16)
        infer16, out16 = timed_inference(model, device, args.batch, args.steps, torch.bfloat16)
        diff = (out16 - out32).abs().max().item()
        print(f"  bf16: training {train16:8.2f} windows/s ({train16 / train32:.2f}x), inference {infer16:8.2f} "
              f"windows/s ({infer16 / infer32:.2f}x); max |bf16 - fp32| of the predicted counts {diff:.3g}")


if __name__ == "__main__":
    main()
