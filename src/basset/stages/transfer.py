"""Stage ``transfer`` (the paper's Figure 6): choose the held-out cell types and write the dataset of the others
(rule ``hold_out_targets``), then fine-tune on each held-out one and compare with the full model (rule
``transfer_learning``). Pre-training on the public cell types is rule ``pretrain_public``
(:func:`basset.stages.train.pretrain_public`). The arithmetic is :mod:`basset.transfer`.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from ..config import with_defaults
from ..dataset import BLOCK_ROWS, SPLITS, Dataset
from ..device import use_device
from ..errors import InputError
from ..fileio import atomic_path
from ..models import load_model, save_model
from ..plots import fig6
from ..tables import write_summary, write_table
from ..train import seed_for, train_options
from ..transfer import TRANSFER_COLUMNS, resolve_holdout, transfer_target

log = logging.getLogger("basset.stages.transfer")


# ---------------------------------------------------------------------------------------------- stages
def hold_out_targets(h5: str | Path, metrics: str | Path, out: dict, transfer: dict | None = None) -> dict:
    """Rule ``hold_out_targets``: the held-out targets ``out["holdout"]`` (:func:`write_holdout`) and the dataset
    ``h5`` restricted to the others, ``out["public"]`` (:func:`subset_targets`).

    ``metrics``: the full model's ``evaluate/metrics.tsv``; ``transfer``: the config's ``transfer`` section (this
    stage reads ``holdout`` and ``k``: the listed targets, or ``k`` spanning the full model's AUROC range).
    """
    cfg = with_defaults("transfer", transfer)
    aurocs = read_full_aurocs(metrics)
    holdout = resolve_holdout(aurocs, cfg["holdout"] or [], int(cfg["k"]), metrics)
    log.info("held out: %s", ", ".join(holdout))
    write_holdout(out["holdout"], holdout, aurocs)
    public = [t for t in Dataset(h5).target_names if t not in holdout]
    subset_targets(h5, out["public"], public)
    return {"holdout": ", ".join(holdout), "public_targets": len(public)}


def transfer_learning(h5: str | Path, holdout: str | Path, pretrained: str | Path, history: str | Path | None,
                      metrics: str | Path, out: dict, transfer: dict | None = None, train: dict | None = None,
                      evaluate: dict | None = None, seed: int = 1, device=None, threads: int | None = None,
                      models_dir: str | Path | None = None) -> dict:
    """Rule ``transfer_learning``: fine-tune, test and compare every held-out target; writes ``out["table"]``
    (``transfer.tsv``, :data:`basset.transfer.TRANSFER_COLUMNS`), ``out["summary"]`` and the Figure 6 scatter
    ``out["fig6"]`` (PNG, and the PDF beside it).

    ``h5``: the full dataset; ``holdout``: the held-out targets (:func:`hold_out_targets`); ``pretrained`` and
    ``history``: the model pre-trained on the other targets and its ``history.tsv`` (its seconds go into the
    summary); ``metrics``: the full model's ``evaluate/metrics.tsv``. ``transfer``, ``train``, ``evaluate``: the
    config's sections (this stage reads ``transfer.lr``, ``passes``, ``scratch``, ``tolerance``, the training
    options, with ``transfer.lr`` over ``train.lr`` when set, and ``evaluate.rc_average``). ``device``: the config's
    ``train.device`` (``None``: ``train["device"]``). ``models_dir`` (or ``out["models"]``): if given, each fine-tuned
    model is saved there as ``{target}.pt``, loadable by ``basset predict`` and the other stages. ``metrics`` None:
    no full model to compare with (its AUROC column is empty). Returns the summary.
    """
    cfg = with_defaults("transfer", transfer)
    options = train_options(train)
    if cfg["lr"] is not None:
        options["lr"] = cfg["lr"]
    dev = use_device(options["device"] if device is None else device, threads)
    rc_average = bool(with_defaults("evaluate", evaluate)["rc_average"])
    passes, tolerance = int(cfg["passes"]), float(cfg["tolerance"])
    targets, full, data = read_holdout(holdout), read_full_aurocs(metrics) if metrics else {}, Dataset(h5)
    models_dir = out.get("models") if models_dir is None else models_dir
    cols = data.columns(targets)
    _pre, meta = load_model(pretrained, objective="binary")
    leaked = sorted(set(targets) & set(meta.get("target_names", [])))
    if leaked:
        log.warning("%s was trained on held-out target(s) %s", pretrained, ", ".join(leaked))
    test_codes, test_y = data.codes("test"), data.targets("test", cols)
    rows = []
    for j, target in enumerate(targets):
        row, model = transfer_target(pretrained, h5, target, test_codes, test_y[:, j], full.get(target, float("nan")),
                                     options, passes, seed_for(seed, cols[j], 8), bool(cfg["scratch"]), tolerance,
                                     dev, rc_average)
        if models_dir is not None:
            save_model(Path(models_dir) / f"{target}.pt", model, [target], {"transfer_from": str(pretrained)})
        rows.append(row)
    table = pd.DataFrame(rows, columns=list(TRANSFER_COLUMNS))
    write_table(out["table"], table, float_format="%.6g")
    summary = transfer_summary(table, tolerance, pretrain_stats(history), meta, passes)
    write_summary(out["summary"], summary)
    fig6(table, out["fig6"], tolerance)
    return summary


# ---------------------------------------------------------------------------------------------- tables
def read_full_aurocs(metrics_path: str | Path) -> dict[str, float]:
    """``{target: auroc}`` from an ``evaluate/metrics.tsv`` (columns ``target``, ``auroc``, ...)."""
    try:
        df = pd.read_csv(metrics_path, sep="\t")
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise InputError(metrics_path, f"expected a TSV with columns target and auroc: {exc}") from None
    if not {"target", "auroc"} <= set(df.columns):
        raise InputError(metrics_path, f"expected columns target and auroc, got {list(df.columns)}", line=1)
    return dict(zip(df["target"].astype(str), df["auroc"].astype(float)))


def write_holdout(path: str | Path, names, aurocs: dict[str, float]) -> None:
    """``target<TAB>full_auroc`` TSV of the held-out targets."""
    write_table(path, pd.DataFrame({"target": list(names), "full_auroc": [aurocs.get(n, np.nan) for n in names]}),
                float_format="%.6g")


def read_holdout(path: str | Path) -> list[str]:
    """The target names of a :func:`write_holdout` TSV."""
    df = pd.read_csv(path, sep="\t", dtype={"target": str})
    if "target" not in df.columns:
        raise InputError(path, "expected a column 'target'", line=1)
    return df["target"].tolist()


def pretrain_stats(history: str | Path | None) -> dict:
    """Epochs, seconds and best mean validation AUROC of a pre-training ``history.tsv`` (empty without one)."""
    if history is None or not Path(history).exists():
        return {}
    h = pd.read_csv(history, sep="\t")
    return {"pretrain_epochs": int(len(h)), "pretrain_seconds": round(float(h["seconds"].sum()), 1),
            "pretrain_best_valid_auroc": round(float(h["valid_auroc"].max()), 4)}


def transfer_summary(table: pd.DataFrame, tolerance: float, pretrain: dict | None = None, meta: dict | None = None,
                     passes: int = 1) -> dict:
    """Counts, mean differences and times of a transfer table (key -> value); ``pretrain``:
    :func:`pretrain_stats`; ``meta``: the pre-trained model file's entries (its target names)."""
    d = table["difference"].to_numpy(float)
    d = d[np.isfinite(d)]  # no full model to compare with (basset transfer without --metrics): no difference
    return {
        "holdout": len(table),
        "public_targets": len((meta or {}).get("target_names", [])),
        "passes": passes,
        "tolerance": tolerance,
        "within_tolerance": int(table["within"].sum()),
        "mean_full_auroc": round(float(table["full_auroc"].mean()), 4),
        "mean_transfer_auroc": round(float(table["transfer_auroc"].mean()), 4),
        "mean_scratch_auroc": round(float(table["scratch_auroc"].mean()), 4),
        "mean_difference": round(float(d.mean()), 4) if len(d) else float("nan"),
        "max_shortfall": round(float(-d.min()), 4) if len(d) else float("nan"),
        "seconds_transfer_mean": round(float(table["seconds_transfer"].mean()), 2),
        "seconds_scratch_mean": round(float(table["seconds_scratch"].mean()), 2),
        **(pretrain or {}),
    }


# ------------------------------------------------------------------------------------------------ subset
def subset_targets(h5_in: str | Path, h5_out: str | Path, keep_names) -> dict:
    """Copy a dataset keeping only the target columns ``keep_names`` (in that order); every split keeps all
    its rows, sequences, coordinates and ``site_index``, and the file attributes are copied.

    Sequences and coordinates are copied by HDF5 itself (chunks and compression as in ``h5_in``); targets
    are streamed in blocks of rows. Written to a temporary file and renamed. Returns
    ``{"targets": T', "<split>": rows}``.
    """
    import h5py

    data = Dataset(h5_in)
    cols = data.columns(keep_names)
    if not cols:
        raise ValueError("keep_names is empty: a dataset needs at least one target")
    h5_out = Path(h5_out)
    h5_out.parent.mkdir(parents=True, exist_ok=True)
    counts = {}
    with atomic_path(h5_out) as tmp:
        with h5py.File(h5_in, "r") as src, h5py.File(tmp, "w") as dst:
            dst.attrs.update(dict(src.attrs))
            dst.create_dataset("target_names", data=np.array([data.target_names[c] for c in cols], dtype=object),
                               dtype=h5py.string_dtype("utf-8"))
            for split in SPLITS:
                if split in src:
                    counts[split] = _copy_split(src[split], dst.create_group(split), cols)
    log.info("wrote %s: %d of %d targets, %s", h5_out, len(cols), data.n_targets,
             ", ".join(f"{k} {v}" for k, v in counts.items()))
    return {"targets": len(cols), **counts}


def _copy_split(g_in, g_out, cols: list[int]) -> int:
    """Copy an HDF5 group of one split, keeping the target columns ``cols``; returns its rows."""
    for key in g_in:
        if key != "targets":
            g_in.file.copy(g_in[key], g_out, name=key)
    t_in = g_in["targets"]
    n = t_in.shape[0]
    kw = {}
    if n and t_in.chunks:
        kw = dict(chunks=(t_in.chunks[0], len(cols)), compression=t_in.compression,
                  compression_opts=t_in.compression_opts)
    t_out = g_out.create_dataset("targets", shape=(n, len(cols)), dtype=t_in.dtype, **kw)
    for lo in range(0, n, BLOCK_ROWS):
        t_out[lo : lo + BLOCK_ROWS] = t_in[lo : lo + BLOCK_ROWS][:, cols]
    return n
