"""Transfer learning to new cell types (the paper's Figure 6).

The paper pre-trained Basset on 149 of its 164 cell types and, for each of the 15 held out, trained a
copy of the network with a new single-output head for one pass over that cell type's peaks plus an equal
number of negatives drawn from the public sites; the result approached the full multi-task model's AUROC
in a fraction of the time. The pieces here:

:func:`choose_holdout`    K targets spanning the full model's test AUROC range (or an explicit list)
:func:`subset_targets`    a copy of the HDF5 dataset keeping only some target columns (the public cells),
                          so that :func:`basset.train.train` pre-trains on it unchanged
:func:`transfer_sites`    training rows for one held-out cell: its positives + as many sampled negatives
:func:`fine_tune`         one pass from the pre-trained network with a new ``Linear(.., 1)`` head, or
                          (``from_scratch=True``) the same pass from a random initialisation
:func:`run_transfer`      the stage: every held-out cell, ``transfer.tsv``, ``summary.tsv`` and Figure 6

Negatives are train-split sites where the held-out cell is 0 (sites of the pre-training universe, i.e. the
public sites); the test AUROC is computed over *all* test-split sites for that cell, the same sites the
full model's ``evaluate/metrics.tsv`` AUROC was computed on, so the two are directly comparable.

The from-scratch comparison trains the same architecture on the same sites for the same number of passes
(so the same number of optimiser steps and, on the same machine, about the same time; both times are
recorded). Matching passes rather than measured seconds keeps the comparison deterministic.
"""

from __future__ import annotations

import copy
import logging
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn

from .dataset import SPLITS, dataset_info
from .errors import InputError
from .fileio import atomic_path
from .metrics import auroc
from .models import build_model, load_model, save_model
from .predict import predict_codes
from .tables import write_summary, write_table
from .train import _seed_for, amp_dtype, make_optimizer, resolve_device, train_options, train_step

log = logging.getLogger("basset.transfer")

#: Options of the stage (the ``transfer:`` section of the config).
TRANSFER_DEFAULTS: dict = {
    "holdout": [],  # explicit held-out target names; empty: choose ``k`` spanning the AUROC range
    "k": 6,  # held-out targets when ``holdout`` is empty (the paper: 15 of 164)
    "pretrain_epochs": None,  # max epochs of pre-training; None: train.max_epochs
    "passes": 1,  # passes over each held-out cell's sites (the paper: one)
    "lr": None,  # fine-tuning learning rate; None: train.lr
    "scratch": True,  # also train from a random initialisation on the same sites, same passes
    "tolerance": 0.03,  # |transfer - full| AUROC counted as "within" in the summary
}

TRANSFER_COLUMNS = ("target", "full_auroc", "transfer_auroc", "scratch_auroc", "difference", "within",
                    "n_pos", "n_neg", "steps", "seconds_transfer", "seconds_scratch")

_BLOCK = 65536  # rows per HDF5 read when streaming a split


# ------------------------------------------------------------------------------------------ hold-out
def choose_holdout(aurocs, k: int) -> list[str]:
    """``k`` target names spanning the AUROC range: the targets at evenly spaced ranks (lowest and highest
    included) of the AUROCs sorted ascending (ties broken by name), returned in that order.

    ``aurocs``: a ``{name: auroc}`` dict or a DataFrame with ``target`` and ``auroc`` columns (the
    ``evaluate/metrics.tsv`` of the full model). Targets with a NaN AUROC are never chosen. Deterministic.
    """
    if isinstance(aurocs, pd.DataFrame):
        missing = {"target", "auroc"} - set(aurocs.columns)
        if missing:
            raise ValueError(f"expected columns target and auroc, missing {', '.join(sorted(missing))}")
        aurocs = dict(zip(aurocs["target"].astype(str), aurocs["auroc"].astype(float)))
    items = sorted(((float(v), str(t)) for t, v in aurocs.items() if np.isfinite(float(v))))
    if not 1 <= k <= len(items):
        raise ValueError(f"cannot hold out {k} of {len(items)} targets with a finite AUROC")
    ranks = np.unique(np.round(np.linspace(0, len(items) - 1, k)).astype(int))
    return [items[r][1] for r in ranks]


def read_full_aurocs(metrics_path: str | Path) -> dict[str, float]:
    """``{target: auroc}`` from an ``evaluate/metrics.tsv`` (columns ``target``, ``auroc``, ...)."""
    try:
        df = pd.read_csv(metrics_path, sep="\t")
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise InputError(metrics_path, f"expected a TSV with columns target and auroc: {exc}") from None
    if not {"target", "auroc"} <= set(df.columns):
        raise InputError(metrics_path, f"expected columns target and auroc, got {list(df.columns)}", line=1)
    return dict(zip(df["target"].astype(str), df["auroc"].astype(float)))


def resolve_holdout(aurocs: dict[str, float], holdout=None, k: int = 6, path: str | Path = "metrics") -> list[str]:
    """The explicit ``holdout`` names (checked against ``aurocs``) or :func:`choose_holdout` of ``k``."""
    if holdout:
        names = [str(h) for h in holdout]
        unknown = [h for h in names if h not in aurocs]
        if unknown:
            raise InputError(path, f"transfer.holdout names unknown target(s) {', '.join(unknown)}")
        if len(set(names)) != len(names):
            raise InputError(path, f"transfer.holdout lists a target twice: {names}")
        if len(names) >= len(aurocs):
            raise InputError(path, "transfer.holdout leaves no target to pre-train on")
        return names
    if k >= len(aurocs):
        raise InputError(path, f"transfer.k = {k} leaves no target of {len(aurocs)} to pre-train on")
    return choose_holdout(aurocs, k)


def write_holdout(path: str | Path, names, aurocs: dict[str, float]) -> None:
    """``target<TAB>full_auroc`` TSV of the held-out targets."""
    write_table(path, pd.DataFrame({"target": list(names), "full_auroc": [aurocs.get(n, np.nan) for n in names]}),
                float_format="%.6g")


def read_holdout(path: str | Path) -> list[str]:
    df = pd.read_csv(path, sep="\t", dtype={"target": str})
    if "target" not in df.columns:
        raise InputError(path, "expected a column 'target'", line=1)
    return df["target"].tolist()


# ------------------------------------------------------------------------------------------- subset
def _target_index(names: list[str], wanted, path) -> list[int]:
    wanted = [str(w) for w in wanted]
    unknown = [w for w in wanted if w not in names]
    if unknown:
        raise InputError(path, f"no target(s) {', '.join(unknown)} (has {', '.join(names)})")
    return [names.index(w) for w in wanted]


def subset_targets(h5_in: str | Path, h5_out: str | Path, keep_names) -> dict:
    """Copy a dataset keeping only the target columns ``keep_names`` (in that order); every split keeps all
    its rows, sequences, coordinates and ``site_index``, and the file attributes are copied.

    Sequences and coordinates are copied by HDF5 itself (chunks and compression as in ``h5_in``); targets
    are streamed in blocks of rows. Written to a temporary file and renamed. Returns
    ``{"targets": T', "<split>": rows}``.
    """
    import h5py

    h5_out = Path(h5_out)
    h5_out.parent.mkdir(parents=True, exist_ok=True)
    counts = {}
    with atomic_path(h5_out) as tmp:
        with h5py.File(h5_in, "r") as src, h5py.File(tmp, "w") as dst:
            names = [t.decode() if isinstance(t, bytes) else str(t) for t in src["target_names"][...]]
            cols = _target_index(names, keep_names, h5_in)
            if not cols:
                raise ValueError("keep_names is empty: a dataset needs at least one target")
            dst.attrs.update(dict(src.attrs))
            dst.create_dataset("target_names", data=np.array([names[c] for c in cols], dtype=object),
                               dtype=h5py.string_dtype("utf-8"))
            for split in SPLITS:
                if split not in src:
                    continue
                g_in, g_out = src[split], dst.create_group(split)
                for key in g_in:
                    if key != "targets":
                        src.copy(g_in[key], g_out, name=key)
                t_in = g_in["targets"]
                n = t_in.shape[0]
                kw = {}
                if n and t_in.chunks:
                    kw = dict(chunks=(t_in.chunks[0], len(cols)), compression=t_in.compression,
                              compression_opts=t_in.compression_opts)
                t_out = g_out.create_dataset("targets", shape=(n, len(cols)), dtype=t_in.dtype, **kw)
                for lo in range(0, n, _BLOCK):
                    t_out[lo : lo + _BLOCK] = t_in[lo : lo + _BLOCK][:, cols]
                counts[split] = n
    log.info("wrote %s: %d of %d targets, %s", h5_out, len(cols), len(names),
             ", ".join(f"{k} {v}" for k, v in counts.items()))
    return {"targets": len(cols), **counts}


# -------------------------------------------------------------------------------------- site choice
def _read_column(h5_path, split: str, col: int) -> np.ndarray:
    """``(n,) uint8`` target column ``col`` of a split, read in blocks of rows."""
    import h5py

    with h5py.File(h5_path, "r") as h5:
        if split not in h5:
            raise InputError(h5_path, f"no split {split!r} in the dataset")
        d = h5[split]["targets"]
        return np.concatenate([d[lo : lo + _BLOCK, col] for lo in range(0, d.shape[0], _BLOCK)] or
                              [np.zeros(0, np.uint8)])


def read_rows(h5_path, split: str, rows) -> np.ndarray:
    """``(len(rows), L) uint8`` codes of the given rows (sorted, unique) of a split, streamed in blocks."""
    import h5py

    rows = np.asarray(rows, dtype=np.int64)
    with h5py.File(h5_path, "r") as h5:
        d = h5[split]["seqs"]
        out = np.empty((rows.size, d.shape[1]), dtype=np.uint8)
        for lo in range(0, d.shape[0], _BLOCK):
            a, b = np.searchsorted(rows, [lo, lo + _BLOCK])
            if b > a:
                out[a:b] = d[lo : lo + _BLOCK][rows[a:b] - lo]
    return out


def transfer_sites(h5_path, target: str, seed: int = 1, split: str = "train") -> tuple[np.ndarray, np.ndarray]:
    """Rows of ``split`` to train a held-out ``target`` on: all its positives and an equal number of
    negatives (rows where it is 0) sampled without replacement with ``seed``; all negatives when there are
    fewer. Returns ``(rows (n,) int64 sorted, labels (n,) uint8)``.
    """
    names = dataset_info(h5_path)["target_names"]
    col = _target_index(names, [target], h5_path)[0]
    y = _read_column(h5_path, split, col)
    pos = np.flatnonzero(y == 1)
    neg = np.flatnonzero(y == 0)
    if pos.size == 0:
        raise InputError(h5_path, f"target {target!r} has no positive site in the {split} split")
    rng = np.random.default_rng(_seed_for(seed, col, 6))
    if neg.size > pos.size:
        neg = np.sort(rng.choice(neg, pos.size, replace=False))
    rows = np.concatenate([pos, neg])
    order = np.argsort(rows, kind="stable")
    return rows[order], y[rows[order]].astype(np.uint8)


# ----------------------------------------------------------------------------------------- training
def new_head_model(pretrained: nn.Module | str | Path, seed: int = 1) -> nn.Module:
    """A copy of a pre-trained :class:`basset.models.BassetNet` (module or saved file) whose ``.output`` is a
    fresh ``Linear(in_features, 1)`` (initialised after ``torch.manual_seed(seed)``); the original is untouched."""
    if isinstance(pretrained, (str, Path)):
        model, _meta = load_model(pretrained)
    else:
        model = copy.deepcopy(pretrained)
    torch.manual_seed(seed)
    model.output = nn.Linear(model.output.in_features, 1)
    model.n_targets = 1
    return model


def train_passes(model: nn.Module, codes: np.ndarray, labels: np.ndarray, options: dict | None = None,
                 passes: int = 1, seed: int = 1, device="cpu") -> dict:
    """Train ``model`` (one output) in place for ``passes`` shuffled passes over in-memory ``codes (n, L) uint8``
    and ``labels (n,) 0/1``, as :func:`basset.train.train` steps (optimizer, lr, max-norm, batch size,
    bf16 autocast and reverse-complement augmentation from ``options``, :data:`basset.train.TRAIN_DEFAULTS`
    keys). A last batch of one row is dropped (batch norm). Returns ``{"steps", "loss" (mean of the last
    pass), "seconds"}``.
    """
    opts = train_options(options)
    device = resolve_device(opts["device"]) if device is None else torch.device(device)
    amp = amp_dtype(opts["amp"], device)
    model.to(device).train()
    optimizer = make_optimizer(model, opts)
    x = torch.from_numpy(np.ascontiguousarray(codes))
    y = torch.from_numpy(np.asarray(labels, dtype=np.uint8).reshape(-1, 1))
    B = opts["batch_size"]
    steps, loss = 0, float("nan")
    t0 = time.perf_counter()
    for p in range(passes):
        gen = torch.Generator().manual_seed(_seed_for(seed, p, 7))
        perm = torch.randperm(x.shape[0], generator=gen)
        total, n = torch.zeros(()), 0
        for lo in range(0, x.shape[0], B):
            idx = perm[lo : lo + B]
            if idx.numel() < 2:
                break
            flip = torch.rand(idx.numel(), generator=gen) < 0.5 if opts["rc_augment"] else None
            total += train_step(model, optimizer, x[idx], y[idx], device, amp, opts["max_norm"], flip).cpu()
            n += 1
        steps += n
        loss = float(total.item()) / max(n, 1)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return {"steps": steps, "loss": loss, "seconds": time.perf_counter() - t0}


def fine_tune(pretrained, h5_path, target: str, options: dict | None = None, passes: int = 1, seed: int = 1,
              from_scratch: bool = False, device="cpu", sites=None) -> tuple[nn.Module, dict]:
    """One held-out cell: a new-head copy of ``pretrained`` (module or model file) trained ``passes`` passes
    over :func:`transfer_sites` of ``target`` in ``h5_path`` (the full dataset). With ``from_scratch`` the
    same architecture is freshly initialised instead (same sites, same passes, same seed).

    ``sites``: precomputed ``(rows, labels, codes)`` to skip reading. Returns ``(model, info)`` with
    ``info = {"n_pos", "n_neg", "steps", "loss", "seconds"}`` (seconds: the training passes only).
    """
    if sites is None:
        rows, labels = transfer_sites(h5_path, target, seed)
        codes = read_rows(h5_path, "train", rows)
    else:
        rows, labels, codes = sites
    if from_scratch:
        if isinstance(pretrained, (str, Path)):
            _m, meta = load_model(pretrained)
            cfg = meta["config"]
        else:
            cfg = pretrained.config
        torch.manual_seed(seed)
        model = build_model(cfg, 1)
    else:
        model = new_head_model(pretrained, seed)
    stats = train_passes(model, codes, labels, options, passes, seed, device)
    info = {"n_pos": int(labels.sum()), "n_neg": int((labels == 0).sum()), **stats}
    log.info("%s %s: %d passes, %d steps on %d + %d sites in %.1f s (loss %.4f)", target,
             "from scratch" if from_scratch else "transfer", passes, stats["steps"], info["n_pos"], info["n_neg"],
             stats["seconds"], stats["loss"])
    return model, info


def held_out_auroc(model: nn.Module, codes: np.ndarray, y: np.ndarray, device="cpu", rc_average: bool = True,
               batch_size: int = 1024) -> float:
    """AUROC of a one-output model on ``codes (n, L)`` with labels ``y (n,)`` (reverse-complement averaged)."""
    p = predict_codes(model, codes, batch_size=batch_size, device=device, rc_average=rc_average)
    return float(auroc(np.asarray(y).reshape(-1, 1), p[:, :1])[0])


# ---------------------------------------------------------------------------------------------- stage
def run_transfer(h5_path, pretrained_path, metrics_path, holdout, out: dict, options: dict | None = None,
                 passes: int = 1, scratch: bool = True, tolerance: float = 0.03, seed: int = 1, device="cpu",
                 rc_average: bool = True, pretrain_history=None, models_dir=None) -> pd.DataFrame:
    """Fine-tune, test and compare every held-out target; write ``out["table"]`` (``transfer.tsv``,
    :data:`TRANSFER_COLUMNS`), ``out["summary"]`` and the Figure 6 scatter ``out["fig6"]`` (PNG + PDF).

    ``h5_path``: the full dataset; ``pretrained_path``: the model pre-trained on the other targets;
    ``metrics_path``: the full model's ``evaluate/metrics.tsv``; ``holdout``: target names; ``options``:
    training options (``train:`` keys; ``lr`` may be overridden by the caller). ``pretrain_history``: the
    pre-training ``history.tsv`` (its seconds go into the summary). ``models_dir``: if given, each
    fine-tuned model is saved there as ``{target}.pt``. Returns the table.
    """
    import h5py

    full = read_full_aurocs(metrics_path)
    names = dataset_info(h5_path)["target_names"]
    cols = _target_index(names, holdout, h5_path)
    _pre, meta = load_model(pretrained_path)
    leaked = sorted(set(holdout) & set(meta.get("target_names", [])))
    if leaked:
        log.warning("%s was trained on held-out target(s) %s", pretrained_path, ", ".join(leaked))
    with h5py.File(h5_path, "r") as h5:
        test_codes = h5["test"]["seqs"][...]
        test_y = h5["test"]["targets"][...][:, cols]
    rows_out = []
    for j, target in enumerate(holdout):
        t_seed = _seed_for(seed, cols[j], 8)
        rows, labels = transfer_sites(h5_path, target, t_seed)
        sites = (rows, labels, read_rows(h5_path, "train", rows))
        model, info = fine_tune(pretrained_path, h5_path, target, options, passes, t_seed, device=device, sites=sites)
        t_auc = held_out_auroc(model, test_codes, test_y[:, j], device, rc_average)
        if models_dir is not None:
            save_model(Path(models_dir) / f"{target}.pt", model, [target], {"transfer_from": str(pretrained_path)})
        s_auc, s_sec = float("nan"), float("nan")
        if scratch:
            s_model, s_info = fine_tune(pretrained_path, h5_path, target, options, passes, t_seed, True, device, sites)
            s_auc, s_sec = held_out_auroc(s_model, test_codes, test_y[:, j], device, rc_average), s_info["seconds"]
        f_auc = full.get(target, float("nan"))
        diff = t_auc - f_auc
        rows_out.append({"target": target, "full_auroc": f_auc, "transfer_auroc": t_auc, "scratch_auroc": s_auc,
                         "difference": diff, "within": bool(abs(diff) <= tolerance), "n_pos": info["n_pos"],
                         "n_neg": info["n_neg"], "steps": info["steps"], "seconds_transfer": info["seconds"],
                         "seconds_scratch": s_sec})
        log.info("%s: full %.4f, transfer %.4f, scratch %.4f (%.1f s)", target, f_auc, t_auc, s_auc, info["seconds"])
    table = pd.DataFrame(rows_out, columns=list(TRANSFER_COLUMNS))
    write_table(out["table"], table, float_format="%.6g")
    write_summary(out["summary"], transfer_summary(table, tolerance, pretrain_history, meta, passes))
    from .plots import fig6

    fig6(table, out["fig6"], tolerance)
    return table


def transfer_summary(table: pd.DataFrame, tolerance: float, pretrain_history=None, meta: dict | None = None,
                     passes: int = 1) -> dict:
    """Counts, mean differences and times of a :func:`run_transfer` table (key -> value)."""
    d = table["difference"].to_numpy(float)
    s = {
        "holdout": len(table),
        "public_targets": len((meta or {}).get("target_names", [])),
        "passes": passes,
        "tolerance": tolerance,
        "within_tolerance": int(table["within"].sum()),
        "mean_full_auroc": round(float(table["full_auroc"].mean()), 4),
        "mean_transfer_auroc": round(float(table["transfer_auroc"].mean()), 4),
        "mean_scratch_auroc": round(float(table["scratch_auroc"].mean()), 4),
        "mean_difference": round(float(np.nanmean(d)), 4) if len(d) else float("nan"),
        "max_shortfall": round(float(-np.nanmin(d)), 4) if len(d) else float("nan"),
        "seconds_transfer_mean": round(float(table["seconds_transfer"].mean()), 2),
        "seconds_scratch_mean": round(float(table["seconds_scratch"].mean()), 2),
    }
    if pretrain_history is not None and Path(pretrain_history).exists():
        h = pd.read_csv(pretrain_history, sep="\t")
        s["pretrain_epochs"] = int(len(h))
        s["pretrain_seconds"] = round(float(h["seconds"].sum()), 1)
        s["pretrain_best_valid_auroc"] = round(float(h["valid_auroc"].max()), 4)
    return s
