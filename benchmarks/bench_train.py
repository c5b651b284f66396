"""Training speed of basset (prints ratios and a table; no asserts).

1. Data pipeline overhead: Basset-preset training steps fed by the real HDF5 loader vs the same batches
   already in memory (uint8 codes), same process. Target: ratio (loader time / in-memory time) <= 1.05.
2. basset's train step (one-hot on the device, max-norm, optimizer) vs a plain PyTorch loop on random
   float one-hot-shaped tensors with the same architecture and optimizer. Target: ratio (seq/s) >= 0.90.
3. CUDA only: training seq/s with bf16 autocast on/off at batch 128 and 512, and inference seq/s.

Self-contained: writes its own random dataset (``--sites`` x 600 bp x 164 targets) under ``--out``.

    python benchmarks/bench_train.py                 # auto device (CUDA when available)
    python benchmarks/bench_train.py --quick         # a short CPU run
"""

from __future__ import annotations

import argparse
import inspect
import math
import time
from pathlib import Path

import h5py
import numpy as np
import torch
import torch.nn.functional as F

from basset.dataset import make_loader
from basset.device import resolve_device
from basset.models import build_model, model_config
from basset.train import (
    amp_dtype,
    device_batches,
    make_optimizer,
    train,
    train_options,
    train_step,
)

T = 164


def write_dataset(path: Path, n: int, L: int = 600, seed: int = 0) -> Path:
    """Random codes and targets in basset's HDF5 layout (train split only is read; chunks of 256 rows, gzip 1)."""
    rng = np.random.default_rng(seed)
    with h5py.File(path, "w") as h5:
        h5.attrs.update(seq_length=L, n_handling="random", alphabet="ACGTN", seed=seed, format_version=1)
        h5.create_dataset(
            "target_names", data=np.array([f"t{i}" for i in range(T)], dtype=object), dtype=h5py.string_dtype("utf-8")
        )
        for split, rows in (("train", n), ("valid", 256), ("test", 256)):
            g = h5.create_group(split)
            g.create_dataset(
                "seqs",
                data=rng.integers(0, 4, (rows, L), dtype=np.uint8),
                chunks=(min(256, rows), L),
                compression="gzip",
                compression_opts=1,
            )
            g.create_dataset(
                "targets",
                data=(rng.random((rows, T)) < 0.2).astype(np.uint8),
                chunks=(min(256, rows), T),
                compression="gzip",
                compression_opts=1,
            )
    return path


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def fresh(device, opts, seed=0):
    torch.manual_seed(seed)
    model = build_model(model_config("basset"), T).to(device).train()
    return model, make_optimizer(model, opts)


def time_steps(batches, model, opt, device, amp, max_norm):
    """Seconds for one training step per item of ``batches`` (an iterable of (codes, targets))."""
    sync(device)
    t0 = time.perf_counter()
    n = 0
    loss = None
    for codes, targets in batches:
        loss = train_step(model, opt, codes, targets, device, amp, max_norm)
        n += codes.shape[0]
    if loss is not None:
        loss.item()
    sync(device)
    return time.perf_counter() - t0, n


def take(loader, k):
    for i, batch in enumerate(loader):
        if i >= k:
            break
        yield batch


def stamp_first(batches, box):
    """Yield from ``batches``, recording ``box["t0"]`` (start) and ``box["t"]`` (first batch's arrival)."""
    box["t0"] = time.perf_counter()
    for i, batch in enumerate(batches):
        if i == 0:
            box["t"] = time.perf_counter()
        yield batch


def plain_loop(model, opt, x, y, steps, device, amp):
    """The textbook loop: float inputs already on the device, no one-hot, no max-norm."""
    sync(device)
    t0 = time.perf_counter()
    for _ in range(steps):
        opt.zero_grad(set_to_none=True)
        with torch.autocast(device.type, dtype=amp, enabled=amp is not None):
            logits = model(x)
        loss = F.binary_cross_entropy_with_logits(logits.float(), y, reduction="sum") / x.shape[0]
        loss.backward()
        opt.step()
    loss.item()
    sync(device)
    return time.perf_counter() - t0


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="auto")
    ap.add_argument("--quick", action="store_true", help="few steps, small dataset (CPU smoke run)")
    ap.add_argument("--sites", type=int, default=None, help="training sites in the benchmark dataset")
    ap.add_argument("--steps", type=int, default=None, help="steps per measurement")
    ap.add_argument("--workers", default="auto", help="loader workers for part 1 (auto: 4 on CUDA, 0 on CPU)")
    ap.add_argument("--out", default=str(Path(__file__).parent / "out"))
    args = ap.parse_args(argv)

    device = resolve_device(args.device)
    cuda = device.type == "cuda"
    if cuda:
        torch.backends.cudnn.benchmark = True
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    steps = args.steps or (3 if args.quick else (400 if cuda else 8))
    sites = args.sites or (2048 if args.quick else (60000 if cuda else 20000))
    B = 128
    opts = train_options({})
    amp = amp_dtype("auto", device)
    workers = (4 if cuda else 0) if args.workers == "auto" else int(args.workers)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    h5 = out / "bench_train.h5"
    t0 = time.perf_counter()
    write_dataset(h5, max(sites, (steps + 3) * B))
    print(
        f"device {device} ({torch.cuda.get_device_name(device) if cuda else f'{torch.get_num_threads()} threads'}), "
        f"torch {torch.__version__}, amp {amp}, batch {B}, {steps} steps per measurement, "
        f"dataset written in {time.perf_counter() - t0:.1f} s"
    )
    rows = []

    # ---- 1. loader vs in-memory
    # as in basset.train: the loader reads chunks of `loader_chunk` batches, moved to the device and sliced there
    chunk = inspect.signature(train).parameters["loader_chunk"].default
    loader = make_loader(
        h5, "train", B * chunk, shuffle=True, seed=1, num_workers=workers, pin_memory=cuda, drop_last=True
    )
    batches = [(c.clone(), t.clone()) for c, t in take(device_batches(loader, torch.device("cpu"), B), steps)]
    if cuda:
        batches = [(c.pin_memory(), t.pin_memory()) for c, t in batches]
    model, opt = fresh(device, opts)
    time_steps(batches[:3], model, opt, device, amp, opts["max_norm"])  # warm-up (cudnn autotune, allocator)
    t_mem = t_h5 = math.inf
    for _ in range(1 if args.quick else 3):  # interleaved repeats, best of each (step times drift by ~10 %)
        t, n_mem = time_steps(batches, model, opt, device, amp, opts["max_norm"])
        t_mem = min(t_mem, t)
        loader.dataset.set_epoch(0)
        box = {}
        t, n_h5 = time_steps(
            stamp_first(take(device_batches(loader, device, B), steps), box), model, opt, device, amp, opts["max_norm"]
        )
        if t < t_h5:
            t_h5, first = t, box
    # steady state: from the first batch's arrival (worker start-up and the first buffer fill excluded)
    wait = first["t"] - first["t0"]
    steady = (t_h5 - wait) / t_mem
    print(
        f"1. data pipeline: HDF5 loader ({workers} workers) {t_h5:.2f} s vs in-memory {t_mem:.2f} s for {steps} "
        f"steps -> ratio {t_h5 / t_mem:.3f} (target <= 1.05); first batch after {wait:.2f} s, "
        f"steady-state ratio {steady:.3f}"
    )
    rows.append(("train, in-memory codes", B, str(amp), n_mem / t_mem))
    rows.append(("train, HDF5 loader", B, str(amp), n_h5 / t_h5))

    # ---- 2. basset step vs plain loop
    model, opt = fresh(device, opts)
    dev_batches = [(c.to(device), t.to(device)) for c, t in batches]
    time_steps(dev_batches[:3], model, opt, device, amp, opts["max_norm"])
    plain, popt = fresh(device, opts)
    x = torch.rand(B, 4, 600, device=device)
    y = (torch.rand(B, T, device=device) < 0.2).float()
    plain_loop(plain, popt, x, y, 3, device, amp)
    t_basset, t_plain = math.inf, math.inf
    for _ in range(1 if args.quick else 3):  # interleaved repeats, best of each: GPU clocks and noise drift
        t, n_basset = time_steps(dev_batches, model, opt, device, amp, opts["max_norm"])
        t_basset = min(t_basset, t)
        t_plain = min(t_plain, plain_loop(plain, popt, x, y, steps, device, amp))
    r2 = (n_basset / t_basset) / (B * steps / t_plain)
    print(
        f"2. basset train step {n_basset / t_basset:.1f} seq/s vs plain loop {B * steps / t_plain:.1f} seq/s "
        f"-> ratio {r2:.3f} (target >= 0.90)"
    )
    rows.append(("plain loop, float inputs", B, str(amp), B * steps / t_plain))

    # ---- 3. CUDA: AMP on/off, batch sizes, inference
    if cuda:
        g = torch.Generator(device=device).manual_seed(0)
        for bs in (128, 512):
            codes = torch.randint(0, 4, (bs, 600), dtype=torch.uint8, device=device, generator=g)
            tg = (torch.rand(bs, T, device=device, generator=g) < 0.2).to(torch.uint8)
            n_steps = max(20, steps * 128 // bs)
            for use_amp in (torch.bfloat16, None):
                model, opt = fresh(device, opts)
                time_steps([(codes, tg)] * 5, model, opt, device, use_amp, opts["max_norm"])
                t, n = time_steps([(codes, tg)] * n_steps, model, opt, device, use_amp, opts["max_norm"])
                rows.append(("train (basset step)", bs, str(use_amp), n / t))
        from basset.sequence import one_hot

        model.eval()
        codes = torch.randint(0, 4, (1024, 600), dtype=torch.uint8, device=device, generator=g)
        for use_amp in (torch.bfloat16, None):
            with torch.inference_mode(), torch.autocast("cuda", dtype=use_amp, enabled=use_amp is not None):
                for _ in range(5):
                    model(one_hot(codes))
                sync(device)
                t0 = time.perf_counter()
                for _ in range(50):
                    model(one_hot(codes))
                sync(device)
            rows.append(("inference", 1024, str(use_amp), 50 * 1024 / (time.perf_counter() - t0)))

    print(f"\n{'measurement':<28}{'batch':>6}  {'autocast':<16}{'seq/s':>10}")
    for name, bs, a, rate in rows:
        print(f"{name:<28}{bs:>6}  {a:<16}{rate:>10.0f}")


if __name__ == "__main__":
    main()
