"""The ``basset`` command line: each stage of the workflow, usable without Snakemake.

    basset simulate      --samples config/samples/simulated.tsv --out resources/simulated
    basset merge-peaks   --samples sheet.tsv --genome genome.fa --out results/run/peaks
    basset bin-peaks     --samples sheet.tsv --genome genome.fa --out results/run/peaks [--bin 200 --length 1000]
    basset split         --sites results/run/peaks/sites.bed --out splits.tsv --valid 0.1 --test 0.1
    basset build-dataset --peaks-dir results/run/peaks --splits splits.tsv --genome genome.fa --out dataset.h5
    basset build-coverage --samples sheet.tsv --genome genome.fa --out dataset.h5 [--window 16384 --bin 128]
    basset train         --dataset dataset.h5 --out results/run/train [--preset cpu] [--set lr=0.001 ...]
    basset kmer          --dataset dataset.h5 --out results/run/evaluate
    basset gkmsvm        --dataset dataset.h5 --out results/run/evaluate [--targets ery_1 ...] [--max-train 256]
    basset evaluate      --model model.pt --dataset dataset.h5 --out results/run/evaluate [--kmer-metrics ...]
    basset evaluate-coverage --model model.pt --dataset dataset.h5 --out results/run/evaluate [--samples sheet.tsv]
    basset window-ablation --model model.pt --short-model short.pt --dataset dataset.h5 --out results/run/evaluate
    basset delta-track   --model model.pt --sad sad.h5 --genome genome.fa --out results/run/variants [--variant ID]
    basset motifs        --model model.pt --dataset dataset.h5 --out results/run/motifs [--database jaspar]
    basset satmut        --model model.pt --fasta seqs.fa --out DIR [--target CELL] [--start 250 --end 350]
    basset sad           --model model.pt --vcf snps.vcf.gz --genome genome.fa --out sad.tsv.gz [--pics pics.tsv]
    basset select-variants --source URL_OR_PATH --pics pics.xls --out pics_snps.vcf.gz
    basset predict       --model model.pt (--fasta seqs.fa | --bed sites.bed --genome genome.fa) --out preds.tsv.gz
    basset predict       --model model.pt --genome genome.fa --bigwig tracks/ [--region chr1:1-1000000] [--stride 50]
    basset attribute     --model model.pt --dataset dataset.h5 --sites-bed sites.bed --samples sheet.tsv --out DIR
    basset transfer      --model pretrained.pt --dataset dataset.h5 --targets CELL ... --out DIR
    basset report        --results results/run
    basset download      URL DEST [--md5 HEX] [--gunzip]
    basset info          dataset.h5

Multi-GPU training: ``torchrun --nproc_per_node N -m basset.cli train ...`` (DDP; one process per GPU).

Every command calls the same stage function (:mod:`basset.stages`) as the workflow's rule, with file names from
:mod:`basset.layout` under ``--out`` and defaults from the config schema. Run ``basset COMMAND --help`` for the
options of each.

Errors: a missing or unreadable input file, a bad option value (checked against the config schema's type and
range for options that are config keys) or a target name the model does not have is reported on one line,
``basset COMMAND: error: ...`` naming the file, the option and its value or the name, with exit status 2 and no
traceback; errors in input files name the file and line. ``basset --debug COMMAND ...`` (or ``--debug`` after
the command) shows the full traceback instead. Anything else (a bug) exits with status 1 and its traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from pathlib import Path
from urllib.parse import unquote, urlsplit

from . import __version__, layout
from .config import accepts, schema_defaults, schema_node, top_level_default
from .errors import BassetError, InputError, UsageError
from .samples import is_url

# Each command imports its stage when it runs (imports inside the functions below), so that `basset --help` does
# not wait for torch, pandas and matplotlib: the face is the one place where basset modules are imported late.

EPILOG = ("A bad argument or input file is one line on stderr, 'basset COMMAND: error: ...', and exit status 2; "
          "--debug (before or after COMMAND) shows the traceback instead.")

DEBUG_HELP = "on an error, show the full traceback instead of one line"

#: errors of the operating system about a path the user gave (or one made from it) that are reported on one line
PATH_ERRORS = (FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError, FileExistsError)


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors: ``basset COMMAND: error: argument --x: ...`` and exit status 2, without the
    usage block (``basset COMMAND --help`` shows it)."""

    def error(self, message: str):
        hint = f" (`{self.prog} --help` lists them)" if message.startswith("the following arguments") else ""
        self.exit(2, f"{self.prog}: error: {_one_line(message)}{hint}\n")


def _one_line(text) -> str:
    return " ".join(line.strip() for line in str(text).splitlines() if line.strip())


# ------------------------------------------------------------------------------------- argument types
# argparse ``type=`` functions: a bad value is refused while parsing, before anything is read or logged, with
# argparse's "argument --option: ..." and exit status 2. The input-path types are listed in INPUT_TYPES.
def input_file(text: str) -> str:
    """An existing, readable file (not a folder)."""
    path = Path(text)
    if not path.exists():
        raise argparse.ArgumentTypeError(f"no such file: {text}")
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is a folder, not a file")
    if not os.access(path, os.R_OK):
        raise argparse.ArgumentTypeError(f"cannot read {text} (permission denied)")
    return text


def input_dir(text: str) -> str:
    """An existing folder."""
    path = Path(text)
    if not path.exists():
        raise argparse.ArgumentTypeError(f"no such folder: {text}")
    if not path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is a file, not a folder")
    return text


def hdf5_file(text: str) -> str:
    """An existing HDF5 file (checked by its signature: a renamed text file is refused here, not deep in h5py)."""
    import h5py

    input_file(text)
    if not h5py.is_hdf5(text):
        raise argparse.ArgumentTypeError(f"{text} is not an HDF5 file")
    return text


def _check_file_url(text: str) -> str:
    """A ``file://`` URL of an existing file."""
    path = unquote(urlsplit(text).path)
    if not Path(path).is_file():
        raise argparse.ArgumentTypeError(f"no such file: {path} (in {text})")
    return text


def url_or_file(text: str) -> str:
    """An http(s)/ftp URL (fetched later), a ``file://`` URL of an existing file or an existing local file."""
    if is_url(text):
        return text
    return _check_file_url(text) if text.lower().startswith("file://") else input_file(text)


def motif_database(text: str) -> str:
    """``jaspar`` or an existing MEME file."""
    if text == "jaspar":
        return text
    try:
        return input_file(text)
    except argparse.ArgumentTypeError as err:
        raise argparse.ArgumentTypeError(f"{err} (expected jaspar or a MEME motif file)") from None


def download_url(text: str) -> str:
    """A URL :func:`basset.download.check_url` accepts; a ``file://`` URL must name an existing file."""
    from .download import DownloadError, check_url

    try:
        check_url(text)
    except DownloadError as err:
        raise argparse.ArgumentTypeError(str(err)) from None
    return _check_file_url(text) if urlsplit(text).scheme.lower() == "file" else text


#: the argument types of input paths: tests/test_cli_errors.py gives each such option a missing path
INPUT_TYPES = (input_file, input_dir, hdf5_file, url_or_file, motif_database)


def _scalar(text: str):
    """A command-line value read as YAML (``[64,64]``, ``true``, ``null``), with the numbers YAML 1.1 leaves as
    strings (``1e-3``) read as numbers."""
    import yaml

    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise argparse.ArgumentTypeError(f"cannot read {text!r} as a value ({_one_line(exc)})") from None
    if isinstance(value, str):
        for cast in (int, float):
            try:
                value = cast(value)
                break
            except ValueError:
                pass
    if isinstance(value, float) and value != value:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}")
    return value


def _kinds(node: dict) -> list[str]:
    kinds = node.get("type", [])
    return [kinds] if isinstance(kinds, str) else list(kinds)


def _describe(node: dict) -> str:
    """What ``node`` accepts, in words: ``an integer >= 2 and <= 12``, ``one of train, valid, test``."""
    if "enum" in node:
        return "one of " + ", ".join("null" if v is None else str(v).lower() if isinstance(v, bool) else str(v)
                                     for v in node["enum"])
    words = []
    bounds = [f"{op} {node[key]}" for key, op in (("minimum", ">="), ("exclusiveMinimum", ">"), ("maximum", "<="))
              if key in node]
    for kind in _kinds(node):
        if kind in ("integer", "number"):
            words.append(("an integer" if kind == "integer" else "a number") +
                         (" " + " and ".join(bounds) if bounds else ""))
        elif kind == "string" and "pattern" in node:
            literal = re.fullmatch(r"\^(\w+)\$", node["pattern"])
            words.append(literal.group(1) if literal else f"text matching {node['pattern']}")
        elif kind == "array":
            words.append("a list" + (f" of values each {_describe(node['items'])}" if "items" in node else ""))
        elif kind != "null":
            words.append({"boolean": "true or false", "string": "text", "object": "a mapping"}.get(kind, kind))
    return " or ".join(words) or "a value"


def checked(node: dict, key: str | None = None):
    """An argument type: the text as a value (:func:`_scalar`) that the schema ``node`` accepts; ``key`` names
    the config key in the message."""
    def check(text: str):
        value = _scalar(text)
        if not accepts(node, value):
            where = f" (config key {key})" if key else ""
            raise argparse.ArgumentTypeError(f"expected {_describe(node)}{where}, got {text!r}")
        return value

    check.__name__ = key or "value"
    return check


def config_value(*keys: str):
    """An argument type checked against the config schema's key ``keys`` (read when the option is given, so that
    building the parser does not read the schema)."""
    def check(text: str):
        return checked(schema_node(*keys), ".".join(keys))(text)

    check.__name__ = ".".join(keys)
    return check


POSITIVE_INT = checked({"type": "integer", "minimum": 1})
NONNEGATIVE_INT = checked({"type": "integer", "minimum": 0})
POSITIVE_NUMBER = checked({"type": "number", "exclusiveMinimum": 0})


def setting(section: str):
    """An argument type: ``KEY=VALUE`` where KEY is a key of the config's ``section`` and VALUE (YAML) one that
    its schema accepts (``null``: the default) -> ``(key, value)``."""
    def check(text: str):
        key, sep, raw = text.partition("=")
        key = key.strip()
        if not sep or not key:
            raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
        props = schema_node(section).get("properties", {})
        if key not in props:
            raise argparse.ArgumentTypeError(f"unknown key {key!r} in {text!r} (the {section} keys: "
                                             f"{', '.join(props)})")
        value = _scalar(raw)
        if value is not None and not accepts(props[key], value):
            raise argparse.ArgumentTypeError(f"{text!r}: expected {_describe(props[key])} for {key} (config key "
                                             f"{section}.{key})")
        return key, value

    check.__name__ = f"{section} setting"
    return check


def target_weight(text: str) -> tuple[str, float]:
    """``TARGET=W`` with a number W -> ``(target, w)``."""
    target, sep, raw = text.partition("=")
    if not sep or not target.strip():
        raise argparse.ArgumentTypeError(f"expected TARGET=WEIGHT, got {text!r}")
    try:
        weight = float(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a number as the weight, got {raw!r}") from None
    return target.strip(), weight


def shard_spec(text: str) -> tuple[int, int]:
    """``K/N`` with 0 <= K < N -> ``(k, n)``."""
    k, sep, n = text.partition("/")
    if not (sep and k.isdigit() and n.isdigit() and 0 <= int(k) < int(n)):
        raise argparse.ArgumentTypeError(f"expected K/N with 0 <= K < N (shard K of N, 0-based), got {text!r}")
    return int(k), int(n)


def device_name(text: str) -> str:
    if not re.fullmatch(r"auto|cpu|cuda(:\d+)?", text):
        raise argparse.ArgumentTypeError(f"expected auto, cpu, cuda or cuda:N, got {text!r}")
    return text


def md5_hex(text: str) -> str:
    if not re.fullmatch(r"[0-9a-fA-F]{32}", text):
        raise argparse.ArgumentTypeError(f"expected an md5 of 32 hexadecimal digits, got {text!r}")
    return text.lower()


def fraction_or_count(text: str):
    """A fraction of the sites (0 <= x < 1) or a count of them (a whole number >= 1)."""
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value >= 0 or (value >= 1 and not value.is_integer()):
        raise argparse.ArgumentTypeError(f"expected a fraction (0 <= x < 1) or a count of sites (a whole number "
                                         f">= 1), got {text!r}")
    return int(value) if value >= 1 else value


def _yaml_section(path: str | None, section: str) -> dict:
    """A config's section (or the whole YAML when it is only that section) from ``--params``."""
    import yaml

    if not path:
        return {}
    try:
        params = yaml.safe_load(Path(path).read_text())
    except yaml.YAMLError as exc:
        raise InputError(path, f"not valid YAML: {_one_line(exc)}") from None
    if params is not None and not isinstance(params, dict):
        raise InputError(path, f"expected a YAML mapping (a config or its {section}: section), got "
                               f"{type(params).__name__}")
    if params and section in params:
        params = params[section]
    return dict(params or {})


def _model_meta(path: str) -> dict:
    """The saved dict of a model.pt without its weights (target names, config); InputError if it is no model."""
    from .models import load_model

    return load_model(path)[1]


def _some(names, n: int = 8) -> str:
    names = [str(t) for t in names]
    return ", ".join(names[:n]) + (f", ... ({len(names)} in all)" if len(names) > n else "")


def _check_targets(option: str, given, model: str, known, holder: str | None = None) -> None:
    """UsageError naming ``option`` when a name in ``given`` is not a target of the model (``holder``: what has the
    targets instead, e.g. ``the dataset X holds``)."""
    known_set = set(known)
    unknown = [t for t in given if t not in known_set]
    if unknown:
        what = "unknown target" + ("s " + ", ".join(map(repr, unknown)) if len(unknown) > 1 else f" {unknown[0]!r}")
        raise UsageError(option, f"{what}: {holder or f'the model {model} predicts'} {_some(known)}")


# ------------------------------------------------------------------------------------------------ commands
def cmd_simulate(args) -> dict:
    from .samples import read_sample_sheet
    from .stages.simulate import simulate_genome

    out = {"summary": layout.simulated_paths(args.out, read_sample_sheet(args.samples))["summary"]}
    return simulate_genome(samples=args.samples, out=out, simulate=_yaml_section(args.params, "simulate"),
                           seed=args.seed, progress=not args.quiet)


def cmd_merge_peaks(args) -> dict:
    from .stages.peaks import merge_peaks

    if args.merge_overlap >= args.feature_size:
        raise UsageError("--merge-overlap", f"{args.merge_overlap} bp can never be reached by sites of "
                                            f"--feature-size {args.feature_size} bp; expected less")
    options = {"feature_size": args.feature_size, "merge_overlap": args.merge_overlap, "midpoint": args.midpoint,
               "drop_chry": not args.keep_chry, "drop_noncanonical": not args.keep_noncanonical}
    summary = merge_peaks(samples=args.samples, fai=args.genome, out=layout.out_dir_paths(args.out, "peaks"),
                          peaks_config=options, progress=not args.quiet)
    print(f"{summary['sites']} sites of {args.feature_size} bp from {summary['targets']} targets -> {args.out}/")
    return summary


def cmd_bin_peaks(args) -> dict:
    from .stages.peaks import bin_peaks

    if args.bin > args.length:
        raise UsageError("--bin", f"bins of {args.bin} bp do not fit in inputs of --length {args.length} bp")
    summary = bin_peaks(samples=args.samples, fai=args.genome, out=layout.out_dir_paths(args.out, "peaks"),
                        peaks_config={"drop_chry": not args.keep_chry, "drop_noncanonical": not args.keep_noncanonical},
                        dataset={"bin": args.bin, "bin_fraction": args.bin_fraction, "select": args.select},
                        length=args.length, progress=not args.quiet)
    print(f"{summary['sites']} bins of {args.bin} bp ({args.length} bp inputs) from {summary['targets']} features "
          f"-> {args.out}/")
    return summary


def cmd_split(args) -> dict:
    from .stages.dataset import split_sites

    if args.chromosomes:
        split = {"method": "chromosomes", "valid": args.valid_chroms, "test": args.test_chroms}
    else:
        split = {"method": "random", "valid": args.valid, "test": args.test}
    return split_sites(args.sites, out={"splits": args.out}, split=split, seed=args.seed)


def cmd_build_dataset(args) -> dict:
    from .stages.dataset import build_dataset

    peaks = layout.out_dir_paths(args.peaks_dir, "peaks", ["sites", "activity"])
    out = {"h5": args.out, **({"summary": args.summary} if args.summary else {})}
    return build_dataset(peaks["sites"], peaks["activity"], args.splits, args.genome, out=out,
                         n_handling=args.n_handling, max_n_fraction=args.max_n_fraction,
                         compression=args.compression, seed=args.seed, progress=not args.quiet)


def cmd_build_coverage(args) -> dict:
    from .samples import read_sample_sheet
    from .stages.coverage import build_coverage_dataset

    sheet = read_sample_sheet(args.samples)
    if "coverage" not in sheet or not all(sheet["coverage"]):
        raise UsageError("--samples", f"{args.samples} needs a coverage column with a bigWig on every row")
    base = Path(args.samples).parent
    tracks = {n: str(p if is_url(p) or Path(p).is_absolute() or Path(p).exists() else base / p)
              for n, p in zip(sheet["name"], sheet["coverage"])}
    for name, path in tracks.items():
        if is_url(path):
            raise UsageError("--samples", f"sample {name!r}: {path} is a URL; download it first (basset download)")
        input_file(path)
    if args.valid_chroms or args.test_chroms:
        split = {"method": "chromosomes", "valid": args.valid_chroms, "test": args.test_chroms}
    else:
        split = {"method": "random", "valid": args.valid, "test": args.test}
    dataset = {"mode": "coverage", "window": args.window, "stride": args.stride, "bin": args.bin,
               "clip_soft": args.clip_soft, "scale": args.scale, "max_n_fraction": args.max_n_fraction,
               "split": split}
    out = {"h5": args.out, **({"summary": args.summary} if args.summary else {})}
    summary = build_coverage_dataset(args.genome, tracks, out, dataset=dataset, seed=args.seed,
                                     progress=not args.quiet)
    return {k: v for k, v in summary.items() if k != "missing"}


def cmd_evaluate_coverage(args) -> dict:
    from .stages.coverage_eval import evaluate_coverage_model

    keys = ["coverage_metrics", "coverage_summary", "fig_coverage_tracks", "fig_coverage_r"]
    return evaluate_coverage_model(args.model, args.dataset, layout.out_dir_paths(args.out, "evaluate", keys),
                                   samples=args.samples, coverage={"figure_tracks": args.figure_tracks},
                                   device=args.device)


def cmd_window_ablation(args) -> dict:
    from .stages.coverage_eval import window_ablation

    out = layout.out_dir_paths(args.out, "evaluate", ["ablation", "ablation_summary", "fig_ablation"])
    return window_ablation(args.model, args.short_model, args.dataset, out, samples=args.samples, device=args.device)


def cmd_delta_track(args) -> dict:
    from .stages.coverage_eval import delta_track

    out = layout.out_dir_paths(args.out, "variants", ["delta_track", "fig_delta_track"])
    out["summary"] = layout.out_dir_paths(args.out, "variants", ["delta_track_summary"])["delta_track_summary"]
    return delta_track(args.model, args.genome, args.sad, out, samples=args.samples,
                       coverage={"figure_tracks": args.figure_tracks, "variant": args.variant}, device=args.device)


def cmd_train(args) -> dict:
    from .config import architecture
    from .stages.train import train_model

    model = {"preset": args.preset, **dict(args.model or [])}
    architecture(model)  # a model that cannot be built is refused before the dataset is read
    summary = train_model(args.dataset, out=layout.out_dir_paths(args.out, "train", ["model", "history"]),
                          model=model, train=dict(args.set or []), seed=args.seed, resume=not args.restart,
                          progress=not args.quiet)
    return {k: v for k, v in summary.items() if k != "history"}


def cmd_kmer(args) -> dict:
    from .stages.evaluate import kmer_baseline

    out = layout.out_dir_paths(args.out, "evaluate", ["kmer_predictions", "kmer_metrics"])
    kmer = {"k": args.k, "gap": args.gap, "C": args.C, "max_train": args.max_train}
    summary = kmer_baseline(args.dataset, out=out, kmer=kmer, seed=args.seed, threads=args.jobs)
    print(f"k-mer baseline mean test AUROC {summary['kmer_mean_auroc']:.4f} -> {out['kmer_metrics']}")
    return summary


def cmd_gkmsvm(args) -> dict:
    from .config import choose_targets
    from .dataset import dataset_info
    from .stages.evaluate import gkmsvm_baseline, gkmsvm_target

    names = dataset_info(args.dataset)["target_names"]
    if args.targets:
        _check_targets("--targets", args.targets, args.dataset, names, f"the dataset {args.dataset} holds")
    targets = args.targets or choose_targets(names, None, args.n_targets)
    cfg = {"max_train": args.max_train, "max_test": args.max_test, "l": args.l, "k": args.k, "d": args.d,
           "C": args.C}
    parts, metrics = [], []
    for target in targets:
        part = {key: Path(args.out) / layout.name("evaluate", f"gkmsvm_{key}").format(target=target)
                for key in ("part", "part_metrics")}
        part["part"].parent.mkdir(parents=True, exist_ok=True)
        gkmsvm_target(args.dataset, out={"part": part["part"], "metrics": part["part_metrics"]}, target=target,
                      gkmsvm=cfg, seed=args.seed, device=args.device, threads=args.threads)
        parts.append(part["part"])
        metrics.append(part["part_metrics"])
    out = layout.out_dir_paths(args.out, "evaluate", ["gkmsvm_predictions", "gkmsvm_metrics"])
    summary = gkmsvm_baseline(parts, metrics, out={"predictions": out["gkmsvm_predictions"],
                                                   "metrics": out["gkmsvm_metrics"]})
    print(f"gkm-SVM mean test AUROC {summary['mean_auroc']:.4f} over {summary['targets']} cell types "
          f"-> {out['gkmsvm_metrics']}")
    return summary


def cmd_evaluate(args) -> dict:
    from .stages.evaluate import evaluate_by_assay, evaluate_model

    keys = ["metrics", "by_class", "summary", "fig2a", "fig2b", "fig2c", "fig_classes"]
    out = layout.out_dir_paths(args.out, "evaluate", keys + ["by_assay", "assay_summary", "fig_assay"])
    summary = evaluate_model(args.model, args.dataset, args.kmer_metrics, args.sites, args.genes,
                             gkmsvm_predictions=args.gkmsvm_predictions, kmer_predictions=args.kmer_predictions,
                             out={k: out[k] for k in keys}, evaluate={"rc_average": not args.no_rc}, seed=args.seed,
                             device=args.device)
    if args.samples:
        summary["by_assay"] = evaluate_by_assay(out["metrics"], args.samples, out=out)
    return summary


def cmd_motifs(args) -> dict:
    """The motif stage's five steps in the workflow's order (filter PWMs, Tomtom, influence, insertion, summary)."""
    from .stages import motifs as stage

    out = layout.out_dir_paths(args.out, "motifs")
    motifs = {"database": args.database, "split": args.split}
    common = {"motifs": motifs, "device": args.device}
    summary = {"filters": stage.filter_motifs(args.model, args.dataset, out=out, **common)}
    summary["tomtom"] = stage.tomtom_filters(out["filters_meme"], out=out, motifs=motifs)
    summary["influence"] = stage.filter_influence(args.model, args.dataset, out=out, **common)
    summary["insertion"] = stage.insert_motifs(args.model, args.dataset, args.truth, out=out, seed=args.seed,
                                               **common)
    summary["summary"] = stage.summarise_filters(out["filters"], out["filters_meme"], out["influence"],
                                                 out["tomtom"], out["database_meme"], out["database_table"],
                                                 args.truth, out=out, motifs=motifs)
    return summary


def cmd_satmut(args) -> dict:
    from .stages.satmut import satmut_fasta

    meta = _model_meta(args.model)
    if args.target is not None:
        _check_targets("--target", [args.target], args.model, meta["target_names"])
    L = (meta.get("config") or {}).get("seq_len")
    start = 0 if args.start is None else args.start
    if L is not None:
        if start >= L:
            raise UsageError("--start", f"{start} is outside the model's {L} bp input (expected 0 <= start < {L})")
        if args.end is not None and not start < args.end <= L:
            raise UsageError("--end", f"{args.end}: expected start ({start}) < end <= {L}, the model's input length")
    return satmut_fasta(args.model, args.fasta, args.out, target=args.target, start=args.start, end=args.end,
                        rc_average=not args.no_rc, device=args.device)


def cmd_sad(args) -> dict:
    from .samples import read_sample_sheet, resolve_weights, target_assays
    from .stages.variants import pics_enrichment, sad_tsv, score_snps

    weights = dict(args.weights or [])
    if weights:
        known = [str(t) for t in _model_meta(args.model)["target_names"]]
        assays = None
        if args.samples:  # a model target the sheet does not list has no assay
            assays = target_assays(read_sample_sheet(args.samples), known, missing="")
        try:
            weights = resolve_weights(weights, known, assays)
        except ValueError:
            unknown = [k for k in weights if k not in known and k not in set(assays or [])]
            _check_targets("--weights", unknown, args.model, known,
                           None if assays is None else f"(nor an assay of {args.samples}: "
                           f"{', '.join(sorted(set(a for a in assays if a)))}) the model {args.model} predicts")
    if args.pics and not args.low_pics < args.high_pics:
        raise UsageError("--low-pics", f"{args.low_pics} must be below --high-pics {args.high_pics}")
    if args.pics and args.shard:
        raise UsageError("--pics", "needs the whole VCF: run it on the gathered shards (basset gather-sad --pics)")
    variants = {"batch_size": args.batch_size, "rc_average": not args.no_rc, "weights": weights,
                "chunk_size": args.chunk_size, "strict": args.strict,
                "sad_dtype": "float32" if args.float32 else "float16", "bf16": args.bf16}
    out = layout.out_dir_paths(args.out, "variants", ["sad", "table", "rejects", "summary"])
    summary = score_snps(args.model, args.genome, args.vcf, out=out, variants=variants, device=args.device,
                         progress=not args.quiet, shard=args.shard)
    if args.full_tsv:
        sad_tsv(out["sad"], out={"table": layout.out_dir_paths(args.out, "variants", ["targets_tsv"])["targets_tsv"]})
    if args.pics:
        summary["pics_enrichment"] = _pics_next_to(out["sad"], args, pics_enrichment)
        if args.samples:
            summary["delta_profile"] = _delta_next_to(out["sad"], args)
    return summary


def _delta_next_to(sad, args) -> dict:
    """DeepSEA's reading of the PICS SNPs (the top likely causal SNP's Delta by assay, the Delta classes) of a SAD file,
    its files next to it in ``args.out``."""
    from .stages.variants import delta_profile

    out = layout.out_dir_paths(args.out, "variants", ["delta_profile", "delta_summary", "fig_delta"])
    out = {"profile": out["delta_profile"], "summary": out["delta_summary"], "fig_delta": out["fig_delta"]}
    return delta_profile(sad, args.pics, args.samples, out=out,
                         variants={"high_pics": args.high_pics, "low_pics": args.low_pics})


def _pics_next_to(sad, args, pics_enrichment) -> dict:
    """The PICS enrichment (Figure 5A, 5B) of a SAD file, its files next to it in ``args.out``."""
    out = layout.out_dir_paths(args.out, "variants", ["pics_summary", "pics_snps", "fig5a", "fig5b"])
    out = {"summary": out["pics_summary"], "snps": out["pics_snps"], "fig5a": out["fig5a"], "fig5b": out["fig5b"]}
    options = {"high_pics": args.high_pics, "low_pics": args.low_pics, "sad_threshold": args.sad_threshold,
               "score": args.score, "rc_average": not args.no_rc}
    return pics_enrichment(sad, args.pics, args.model, args.genome, out=out, variants=options, device=args.device)


def cmd_gather_sad(args) -> dict:
    from .stages.variants import gather_sad, pics_enrichment

    if args.pics and not (args.model and args.genome):
        raise UsageError("--pics", "needs --model and --genome too (Figure 5B maps the top SNP)")
    parts = [layout.out_dir_paths(d, "variants", ["sad", "rejects", "summary"]) for d in args.shards]
    for part in parts:
        for path in part.values():
            if not path.is_file():
                raise UsageError("DIR", f"no such file: {path} (expected the --out of basset sad --shard K/N)")
    out = layout.out_dir_paths(args.out, "variants", ["sad", "table", "rejects", "summary"])
    summary = gather_sad([p["sad"] for p in parts], rejects=[p["rejects"] for p in parts],
                         summary=[p["summary"] for p in parts], fasta=args.genome, out=out)
    if args.pics:
        summary["pics_enrichment"] = _pics_next_to(out["sad"], args, pics_enrichment)
    return summary


def cmd_select_variants(args) -> dict:
    from .stages.variants import select_pics_variants

    return select_pics_variants(args.pics, out={"vcf": args.out}, source=args.source, progress=not args.quiet,
                                timeout=args.timeout)


def cmd_predict(args) -> dict:
    from .stages.predict import model_length, parse_region, predict_file, predict_tracks

    meta = _model_meta(args.model)
    if args.targets:
        _check_targets("--targets", args.targets, args.model, meta["target_names"])
    if args.bigwig or args.bed:
        if not args.genome:
            raise UsageError("--genome", f"{'--bigwig' if args.bigwig else '--bed'} needs the genome FASTA (--genome)")
    if args.bigwig:
        L = model_length(meta, args.model)
        if args.stride > L:
            raise UsageError("--stride", f"{args.stride} bp is longer than the model's input ({L} bp)")
        from .sequence import genome_sizes

        sizes = genome_sizes(args.genome) if args.region else {}
        for r in args.region or []:
            try:
                parse_region(r, sizes)
            except ValueError as err:
                raise UsageError("--region", str(err)) from None
    elif args.region or args.targets:
        raise UsageError("--region" if args.region else "--targets", "only with --bigwig DIR")
    if not (args.fasta or args.bed or args.bigwig):
        raise UsageError("--fasta", "give --fasta, --bed with --genome, or --bigwig DIR with --genome")
    if args.fasta and args.bed:
        raise UsageError("--bed", "give --fasta or --bed, not both")
    if (args.fasta or args.bed) and not args.out:
        raise UsageError("--out", "--fasta and --bed write a table: name it with --out (.tsv, .tsv.gz or .h5)")
    common = {"rc_average": not args.no_rc, "batch_size": args.batch_size, "device": args.device,
              "progress": not args.quiet}
    summary = {}
    if args.fasta or args.bed:
        summary["table"] = predict_file(args.model, args.out, fasta=args.fasta, bed=args.bed, genome=args.genome,
                                        **common)
    if args.bigwig:
        summary["tracks"] = predict_tracks(args.model, args.genome, args.bigwig, args.region, stride=args.stride,
                                           targets=args.targets, **common)
    return summary


def cmd_attribute(args) -> dict:
    """The attribution stage's three steps in the workflow's order (attributions, TF-MoDISco per lineage,
    annotation)."""
    from .config import lineages_of
    from .stages import attribution as stage

    names = list(_model_meta(args.model)["target_names"])
    if args.targets:
        _check_targets("--targets", args.targets, args.model, names)
    groups = None
    if args.samples and not args.targets:
        from .samples import read_sample_sheet

        sheet = read_sample_sheet(args.samples)
        _check_targets("--samples", list(sheet.index), args.model, names)
        names = [str(n) for n in sheet.index]
        groups = sheet["group"].fillna("").astype(str).tolist() if "group" in sheet else None
    cfg = {"by": args.by, "shared": not args.no_shared, "sites": args.sites, "n_shuffles": args.n_shuffles,
           "split": args.split, "min_seqlets": args.min_seqlets, "databases": args.databases}
    lineages = lineages_of(names, groups, args.by, not args.no_shared)
    if args.targets:
        lineages = {"_".join(args.targets) if len(args.targets) <= 3 else "targets": list(args.targets)}
    out = layout.out_dir_paths(args.out, "attribution")
    out = {k: str(v) for k, v in out.items()}
    if not args.instances:
        out.pop("truth")
    summary = {"attribute": stage.attribute_sites(args.model, args.dataset, args.sites_bed, args.instances, out=out,
                                                  lineages=lineages, attribution=cfg, seed=args.seed,
                                                  device=args.device)}
    if args.no_modisco:
        return summary
    files = []
    for lineage in lineages:
        part = {"modisco": out["modisco"].format(lineage=lineage)}
        summary[f"modisco {lineage}"] = stage.modisco_lineage(out["attributions"], out=part, lineage=lineage,
                                                              attribution=cfg)
        files.append(part["modisco"])
    if not args.truth:
        for key in ("recovery", "spacing", "fig_spacing"):
            out.pop(key)
    summary["patterns"] = stage.annotate_patterns(files, args.truth, out=out, lineages=lineages, attribution=cfg,
                                                  motifs={"database": "jaspar"})
    return summary


def cmd_transfer(args) -> dict:
    from .stages.transfer import transfer_learning, write_holdout

    data_targets = _dataset_targets(args.dataset)
    if args.targets:
        _check_targets("--targets", args.targets, args.dataset, data_targets,
                       holder=f"the dataset {args.dataset} holds")
    else:
        known = set(_model_meta(args.model)["target_names"])
        args.targets = [t for t in data_targets if t not in known]
        if not args.targets:
            raise UsageError("--targets", f"the model {args.model} already predicts every target of {args.dataset}: "
                                          "name the ones to transfer to")
    out = layout.out_dir_paths(args.out, "transfer", ["holdout", "table", "summary", "fig6", "models"])
    aurocs = {}
    if args.metrics:
        from .stages.transfer import read_full_aurocs

        aurocs = read_full_aurocs(args.metrics)
    write_holdout(out["holdout"], list(args.targets), aurocs)
    transfer = {"passes": args.passes, "lr": args.lr, "scratch": not args.no_scratch, "tolerance": args.tolerance}
    summary = transfer_learning(args.dataset, out["holdout"], args.model, None, args.metrics,
                                out=out, transfer=transfer, seed=args.seed, device=args.device,
                                models_dir=out["models"])
    summary["models"] = str(out["models"])
    return summary


def _dataset_targets(path) -> list[str]:
    from .dataset import dataset_info

    return list(dataset_info(path)["target_names"])


def cmd_report(args) -> dict:
    from .stages.report import make_report, report_inputs

    results = Path(args.results)
    out = layout.stage_paths(args.out or results, "report")
    config = {"run": results.name}
    if args.config:  # the run's settings, for the Methods section (schema defaults fill what the file leaves out)
        import yaml

        config = {**yaml.safe_load(Path(args.config).read_text()), "run": results.name}
        config.setdefault("model", {})
        config.setdefault("train", {})
    return make_report(out=out, **report_inputs(results), truth=args.truth, paper_aucs=args.paper_aucs,
                       config=config)


def cmd_download(args) -> dict:
    from .stages.download import download_file

    return download_file(out={"file": args.dest}, url=args.url, md5=args.md5, gunzip=args.gunzip,
                         retries=args.retries, deadline=args.deadline, progress=not args.quiet)


def cmd_info(args) -> dict:
    from .dataset import dataset_info

    return dataset_info(args.dataset)


# --------------------------------------------------------------------------------------------------- parser
def _device_arg(p) -> None:
    p.add_argument("--device", type=device_name,
                   help="auto, cpu or cuda (the config key train.device; default: cuda when torch sees a GPU)")


def _seed_arg(p) -> None:
    p.add_argument("--seed", type=config_value("seed"), default=top_level_default("seed"),
                   help="random seed (default: %(default)s)")


def args_simulate(p) -> None:
    p.add_argument("--samples", required=True, type=input_file,
                   help="sample sheet (TSV): name, peaks, group, format")
    p.add_argument("--out", default=schema_defaults("simulate")["outdir"],
                   help="output directory (default: %(default)s)")
    p.add_argument("--params", type=input_file,
                   help="YAML with simulation parameters (a config's `simulate:` section or the whole config); the "
                        "schema's defaults otherwise")
    _seed_arg(p)


def args_merge_peaks(p) -> None:
    d = schema_defaults("peaks")
    p.add_argument("--samples", required=True, type=input_file, help="sample sheet (TSV): name, peaks, [format]")
    p.add_argument("--genome", required=True, type=input_file,
                   help="genome FASTA, its .fai, or a chrom-sizes table (name<TAB>length), told apart by content; "
                        "nothing is written beside it")
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--feature-size", type=config_value("peaks", "feature_size"), default=d["feature_size"],
                   help="site width in bp (default: %(default)s)")
    p.add_argument("--merge-overlap", type=config_value("peaks", "merge_overlap"), default=d["merge_overlap"],
                   help="bp of overlap to merge (default: %(default)s)")
    p.add_argument("--midpoint", choices=["center", "summit"], default=d["midpoint"],
                   help="peak midpoint: interval centre (Basset) or narrowPeak summit (default: %(default)s)")
    p.add_argument("--keep-chry", action="store_true", help="keep chrY peaks (dropped by default, as Basset -y)")
    p.add_argument("--keep-noncanonical", action="store_true",
                   help="keep peaks on contigs other than chr1-22, X, Y (dropped by default)")


def args_bin_peaks(p) -> None:
    d = schema_defaults("dataset")
    p.add_argument("--samples", required=True, type=input_file,
                   help="sample sheet (TSV): name, peaks, assay (dnase, tf, histone or a free label; empty: dnase)")
    p.add_argument("--genome", required=True, type=input_file,
                   help="genome FASTA, its .fai, or a chrom-sizes table (name<TAB>length), told apart by content")
    p.add_argument("--out", required=True,
                   help="output directory: sites.bed (inputs centred on the bins), activity.tsv.gz, targets.tsv, "
                        "summary.tsv, as merge-peaks writes them (build-dataset --peaks-dir reads them)")
    p.add_argument("--bin", type=config_value("dataset", "bin"), default=d["bin"],
                   help="bin size, bp (default: %(default)s)")
    p.add_argument("--bin-fraction", type=config_value("dataset", "bin_fraction"), default=d["bin_fraction"],
                   help="a feature is 1 when one of its peaks covers more than this fraction of a bin "
                        "(default: %(default)s)")
    p.add_argument("--select", nargs="+", default=d["select"], metavar="ASSAY",
                   help="assays whose peaks make a bin a sample (default: %(default)s)")
    p.add_argument("--length", type=POSITIVE_INT, default=1000,
                   help="input length centred on each bin, the model's (default: %(default)s, DeepSEA's)")
    p.add_argument("--keep-chry", action="store_true", help="keep chrY peaks (dropped by default)")
    p.add_argument("--keep-noncanonical", action="store_true",
                   help="keep peaks on contigs other than chr1-22, X, Y (dropped by default)")


def args_split(p) -> None:
    d = schema_defaults("dataset")["split"]
    p.add_argument("--sites", required=True, type=input_file, help="sites.bed from merge-peaks")
    p.add_argument("--out", required=True, help="output TSV (site, split)")
    p.add_argument("--valid", type=fraction_or_count, default=d["valid"],
                   help="fraction or count (default: %(default)s)")
    p.add_argument("--test", type=fraction_or_count, default=d["test"], help="fraction or count (default: "
                                                                              "%(default)s)")
    p.add_argument("--chromosomes", action="store_true", help="split by chromosomes instead")
    p.add_argument("--valid-chroms", nargs="*", default=[], help="chromosomes held out for validation")
    p.add_argument("--test-chroms", nargs="*", default=[], help="chromosomes held out for test")
    _seed_arg(p)


def args_build_dataset(p) -> None:
    d = schema_defaults("dataset")
    p.add_argument("--peaks-dir", required=True, type=input_dir, help="directory with sites.bed and activity.tsv.gz")
    p.add_argument("--splits", required=True, type=input_file, help="splits TSV from `basset split`")
    p.add_argument("--genome", required=True, type=input_file, help="genome FASTA")
    p.add_argument("--out", required=True, help="output HDF5 file")
    p.add_argument("--summary", help="also write the counts as a TSV here")
    p.add_argument("--n-handling", choices=["random", "zero", "uniform"], default=d["n_handling"],
                   help="N bases: a random base or all-zero (default: %(default)s); the paper put 0.25 in each channel")
    p.add_argument("--max-n-fraction", type=config_value("dataset", "max_n_fraction"), default=d["max_n_fraction"],
                   help="skip sites with more N (default: %(default)s)")
    p.add_argument("--compression", choices=["gzip", "lzf", "none"], default=d["compression"],
                   help="HDF5 compression (default: %(default)s)")
    _seed_arg(p)


def args_train(p) -> None:
    p.add_argument("--dataset", required=True, type=hdf5_file, help="HDF5 dataset from build-dataset")
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--preset", choices=schema_node("model", "preset")["enum"],
                   default=schema_defaults("model")["preset"],
                   help="architecture (default: %(default)s); basenji and basenji_small are coverage models, for a "
                        "dataset from build-coverage")
    p.add_argument("--model", nargs="*", type=setting("model"), metavar="KEY=VALUE",
                   help="model overrides (the config's model: keys), e.g. conv_filters=[64,64,64]")
    p.add_argument("--set", nargs="*", type=setting("train"), metavar="KEY=VALUE",
                   help="training options (the config's train: keys), e.g. optimizer=adam lr=0.001 max_epochs=20 "
                        "device=cuda")
    p.add_argument("--restart", action="store_true", help="ignore an existing checkpoint")
    _seed_arg(p)


def args_build_coverage(p) -> None:
    d = schema_defaults("dataset")
    p.add_argument("--samples", required=True, type=input_file,
                   help="sample sheet (TSV): name, coverage (a bigWig per row; relative paths from the sheet's folder "
                        "or the working one)")
    p.add_argument("--genome", required=True, type=input_file, help="genome FASTA (indexed with pyfaidx if needed)")
    p.add_argument("--out", required=True, help="output HDF5 (windows x bins x tracks, see basset.stages.coverage)")
    p.add_argument("--summary", help="also write the counts as a TSV here")
    p.add_argument("--window", type=POSITIVE_INT, default=16384,
                   help="window length, bp: the model's seq_len (default: %(default)s, basenji_small's)")
    p.add_argument("--stride", type=POSITIVE_INT, help="bp between window starts (default: half the window)")
    p.add_argument("--bin", type=config_value("dataset", "bin"), default=128,
                   help="bp per target bin, the model's bin_size (default: %(default)s)")
    p.add_argument("--clip-soft", type=config_value("dataset", "clip_soft"), default=d["clip_soft"],
                   help="soft-clip bin sums above this (Basenji's clip_soft; default: none)")
    p.add_argument("--scale", type=config_value("dataset", "scale"), default=d["scale"],
                   help="multiply bin sums by this before clipping (default: %(default)s)")
    p.add_argument("--max-n-fraction", type=config_value("dataset", "max_n_fraction"), default=d["max_n_fraction"],
                   help="skip windows with a larger fraction of N (default: %(default)s)")
    p.add_argument("--valid-chroms", nargs="*", default=[], help="chromosomes held out for validation")
    p.add_argument("--test-chroms", nargs="*", default=[], help="chromosomes held out for test")
    p.add_argument("--valid", type=fraction_or_count, default=0.1,
                   help="without --valid-chroms/--test-chroms: fraction or count of windows (default: %(default)s)")
    p.add_argument("--test", type=fraction_or_count, default=0.1, help="likewise (default: %(default)s)")
    _seed_arg(p)


def args_evaluate_coverage(p) -> None:
    p.add_argument("--model", required=True, type=input_file, help="model.pt of a coverage model (basset train)")
    p.add_argument("--dataset", required=True, type=hdf5_file, help="HDF5 dataset from build-coverage")
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--samples", type=input_file, help="sample sheet: each track's assay (default: all dnase)")
    p.add_argument("--figure-tracks", type=config_value("coverage", "figure_tracks"),
                   default=schema_defaults("coverage")["figure_tracks"],
                   help="tracks drawn over the test window (default: %(default)s)")
    _device_arg(p)


def args_window_ablation(p) -> None:
    p.add_argument("--model", required=True, type=input_file, help="model.pt of the long-window coverage model")
    p.add_argument("--short-model", required=True, type=input_file,
                   help="model.pt of the same model trained with a shorter context (train --model context=2048)")
    p.add_argument("--dataset", required=True, type=hdf5_file, help="HDF5 dataset from build-coverage")
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--samples", type=input_file, help="sample sheet: each track's assay")
    _device_arg(p)


def args_delta_track(p) -> None:
    p.add_argument("--model", required=True, type=input_file, help="model.pt of a coverage model")
    p.add_argument("--sad", required=True, type=input_file, help="sad.h5 (or sad.tsv.gz) from basset sad")
    p.add_argument("--genome", required=True, type=input_file, help="genome FASTA the variants were scored on")
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--variant", help="the VCF ID to draw (default: the one with the largest summed effect)")
    p.add_argument("--samples", type=input_file, help="sample sheet: each track's assay")
    p.add_argument("--figure-tracks", type=config_value("coverage", "figure_tracks"),
                   default=schema_defaults("coverage")["figure_tracks"], help="tracks drawn (default: %(default)s)")
    _device_arg(p)


def args_kmer(p) -> None:
    d = schema_defaults("kmer")
    p.add_argument("--dataset", required=True, type=hdf5_file, help="HDF5 dataset from build-dataset")
    p.add_argument("--out", required=True, help="output directory (kmer_metrics.tsv, kmer_predictions.tsv.gz)")
    p.add_argument("--k", type=config_value("kmer", "k"), default=d["k"],
                   help="k-mer length (default: %(default)s)")
    p.add_argument("--gap", type=config_value("kmer", "gap"), default=d["gap"],
                   help="gapped k-mers: gap length (default: %(default)s)")
    p.add_argument("--C", type=config_value("kmer", "C"), default=d["C"],
                   help="inverse regularisation (default: %(default)s)")
    p.add_argument("--max-train", type=config_value("kmer", "max_train"), default=d["max_train"],
                   help="training sites used at most (default: %(default)s)")
    p.add_argument("--jobs", type=POSITIVE_INT, default=1, help="targets fitted in parallel (default: %(default)s)")
    _seed_arg(p)


def args_gkmsvm(p) -> None:
    d = schema_defaults("gkmsvm")
    p.add_argument("--dataset", required=True, type=hdf5_file, help="HDF5 dataset from build-dataset")
    p.add_argument("--out", required=True,
                   help="output directory (gkmsvm_metrics.tsv, gkmsvm_predictions.tsv.gz, gkmsvm/<target>.*)")
    p.add_argument("--targets", nargs="+", metavar="TARGET", help="cell types to fit (default: --n-targets of them)")
    p.add_argument("--n-targets", type=POSITIVE_INT, default=d["targets"], metavar="N",
                   help="without --targets: this many, the dataset's first (default: %(default)s)")
    p.add_argument("--max-train", type=config_value("gkmsvm", "max_train"), default=d["max_train"],
                   help="balanced training sites per cell type (the paper: 100000; default: %(default)s)")
    p.add_argument("--max-test", type=config_value("gkmsvm", "max_test"), default=d["max_test"],
                   help="test sites scored, the same for every cell type (default: %(default)s)")
    for key, what in (("l", "word length"), ("k", "informative positions"), ("d", "maximum mismatches"),
                      ("C", "SVM regularisation")):
        p.add_argument(f"--{key}", type=config_value("gkmsvm", key), default=d[key],
                       help=f"{what}, as LS-GKM's -{key.lower()} (default: %(default)s)")
    _device_arg(p)
    p.add_argument("--threads", type=POSITIVE_INT, default=os.cpu_count() or 1,
                   help="numba threads of the kernels (default: %(default)s)")
    _seed_arg(p)


def args_evaluate(p) -> None:
    p.add_argument("--model", required=True, type=input_file, help="model.pt from train")
    p.add_argument("--dataset", required=True, type=hdf5_file, help="HDF5 dataset from build-dataset")
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--kmer-metrics", type=input_file, help="kmer_metrics.tsv from `basset kmer` (Figure 2B)")
    p.add_argument("--kmer-predictions", type=input_file,
                   help="kmer_predictions.tsv.gz from `basset kmer` (its AUROC on the gkm-SVM's test sites)")
    p.add_argument("--gkmsvm-predictions", type=input_file,
                   help="gkmsvm_predictions.tsv.gz from `basset gkmsvm` (Figure 2B: the CNN against it)")
    p.add_argument("--sites", type=input_file, help="sites.bed (for site classes)")
    p.add_argument("--genes", type=input_file, help="gene annotation GTF (for site classes)")
    p.add_argument("--samples", type=input_file,
                   help="sample sheet with an assay column: also AUROC and AUPRC by assay, as DeepSEA reports them "
                        "(auroc_by_assay.tsv, assay_summary.tsv, fig_auroc_by_assay.png)")
    p.add_argument("--no-rc", action="store_true", help="do not average with reverse-complement predictions")
    _device_arg(p)
    _seed_arg(p)


def args_motifs(p) -> None:
    d = schema_defaults("motifs")
    p.add_argument("--model", required=True, type=input_file, help="model.pt from train")
    p.add_argument("--dataset", required=True, type=hdf5_file, help="HDF5 dataset from build-dataset")
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--database", type=motif_database, default=d["database"],
                   help="motif database: a MEME file, or jaspar (JASPAR CORE vertebrates, offline; default)")
    p.add_argument("--split", type=config_value("motifs", "split"), default=d["split"],
                   help="dataset split the filters are read on (default: %(default)s)")
    p.add_argument("--truth", type=input_file,
                   help="a simulation's truth/simulation.json (grades the filters against the planted factors)")
    _device_arg(p)
    _seed_arg(p)


def args_satmut(p) -> None:
    p.add_argument("--model", required=True, type=input_file, help="model.pt from train")
    p.add_argument("--fasta", required=True, type=input_file, help="sequences, each at least the model's input length")
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--target", help="cell type drawn (default: per record, the one with the largest mean loss)")
    p.add_argument("--start", type=NONNEGATIVE_INT,
                   help="first position mutated, 0-based in the model's window (default 0)")
    p.add_argument("--end", type=POSITIVE_INT,
                   help="end of the mutated window, exclusive (default: the whole sequence)")
    p.add_argument("--no-rc", action="store_true", help="do not average with the reverse complement")
    _device_arg(p)


def _pics_args(p, d) -> None:
    p.add_argument("--pics", type=input_file, help="PICS table (Farh et al. 2015 layout) for the enrichment test")
    for option, key in (("--high-pics", "high_pics"), ("--low-pics", "low_pics"), ("--sad-threshold", "sad_threshold")):
        p.add_argument(option, type=config_value("variants", key), default=d[key], help="default: %(default)s")
    p.add_argument("--score", choices=("abs_mean", "mean_abs", "max_abs"), default=d["score"],
                   help="per-SNP score compared between PICS groups (default: %(default)s)")


def args_sad(p) -> None:
    d = schema_defaults("variants")
    p.add_argument("--model", required=True, type=input_file, help="model.pt from train")
    p.add_argument("--vcf", required=True, type=input_file, help="variants (VCF, plain or gzipped)")
    p.add_argument("--genome", required=True, type=input_file, help="genome FASTA (indexed or indexable by pyfaidx)")
    p.add_argument("--out", required=True,
                   help="output directory: sad.h5 (every record, its status, the SAD matrix), sad.tsv.gz (summary "
                        "columns of the scored variants), sad.rejects.tsv.gz (records rejected or skipped, with "
                        "file:line and reason), summary.tsv (counts)")
    _pics_args(p, d)
    p.add_argument("--weights", nargs="*", type=target_weight, metavar="TARGET=W",
                   help="weighted impact score sum_t w_t |SAD_t| (DeepSEA's): TARGET is a target, or with --samples an "
                        "assay of the sheet (dnase, tf, histone), which weighs all its targets; a target's own weight "
                        "wins over its assay's")
    p.add_argument("--samples", type=input_file, metavar="SHEET",
                   help="sample sheet whose assay column lets --weights name assays; with --pics, also the Delta of "
                        "the top likely causal SNP for every feature by assay and the strong/moderate/weak counts "
                        "(delta_profile.tsv, delta_summary.tsv, fig5_delta_profile.png)")
    p.add_argument("--batch-size", type=config_value("variants", "batch_size"), default=d["batch_size"],
                   help="default: %(default)s")
    p.add_argument("--chunk-size", type=config_value("variants", "chunk_size"), default=d["chunk_size"],
                   help="VCF records scored at a time (default: %(default)s)")
    p.add_argument("--strict", action="store_true",
                   help="stop at the first malformed record (default: reject it to sad.rejects.tsv.gz and go on)")
    p.add_argument("--float32", action="store_true", help="store the SAD matrix as float32 (default: float16)")
    p.add_argument("--bf16", action="store_true", help="score under bfloat16 autocast (for CUDA: faster, slightly "
                                                        "different SAD)")
    p.add_argument("--full-tsv", action="store_true",
                   help="also write sad_targets.tsv.gz: the scored variants with one SAD column per target, as text")
    p.add_argument("--shard", type=shard_spec, metavar="K/N",
                   help="score only shard K (0-based) of N: blocks of --chunk-size records in turn; join the N "
                        "output directories with basset gather-sad")
    p.add_argument("--no-rc", action="store_true", help="do not average with the reverse complement")
    _device_arg(p)


def args_gather_sad(p) -> None:
    d = schema_defaults("variants")
    p.add_argument("shards", nargs="+", metavar="DIR", type=input_dir,
                   help="the --out directories of basset sad --shard K/N (sad.h5, sad.rejects.tsv.gz, summary.tsv)")
    p.add_argument("--out", required=True, help="output directory (the files of basset sad)")
    p.add_argument("--genome", type=input_file, help="genome FASTA (names its chromosomes in errors; --pics)")
    p.add_argument("--model", type=input_file, help="model.pt (for --pics)")
    _pics_args(p, d)
    p.add_argument("--no-rc", action="store_true", help="with --pics: do not average with the reverse complement")
    _device_arg(p)


def args_select_variants(p) -> None:
    p.add_argument("--source", required=True, type=url_or_file, help="sites VCF: http(s)/ftp URL or local path")
    p.add_argument("--pics", required=True, type=input_file,
                   help="PICS table (Farh et al. 2015 .xls, or tab-separated text)")
    p.add_argument("--out", required=True, help="output VCF (gzipped), e.g. pics_snps.vcf.gz")
    p.add_argument("--timeout", type=POSITIVE_NUMBER, default=60,
                   help="seconds allowed to connect and for each read of a URL (default: %(default)s)")


def args_predict(p) -> None:
    p.add_argument("--model", required=True, type=input_file, help="model.pt from train")
    p.add_argument("--fasta", type=input_file,
                   help="sequences to predict, each at least the model's input length (its central bases are used)")
    p.add_argument("--bed", type=input_file,
                   help="intervals of --genome: the model-length window centred on each midpoint is predicted")
    p.add_argument("--genome", type=input_file, help="genome FASTA (for --bed and --bigwig)")
    p.add_argument("--out", help="table of per-target probabilities: .tsv, .tsv.gz or .h5 (HDF5)")
    p.add_argument("--bigwig", metavar="DIR",
                   help="write one bigWig per target into DIR: the genome (or --region) tiled in bins of --stride bp, "
                        "each the prediction of the window centred on it")
    p.add_argument("--region", action="append", metavar="CHROM[:START-END]",
                   help="with --bigwig: a region to tile (1-based, inclusive; repeatable); default: every chromosome")
    p.add_argument("--stride", type=POSITIVE_INT, default=50,
                   help="with --bigwig: bin size in bp (default: %(default)s)")
    p.add_argument("--targets", nargs="+", metavar="TARGET", help="with --bigwig: only these targets' tracks")
    p.add_argument("--batch-size", type=POSITIVE_INT, default=256, help="default: %(default)s")
    p.add_argument("--no-rc", action="store_true", help="do not average with the reverse complement")
    _device_arg(p)


def args_attribute(p) -> None:
    d = schema_defaults("attribution")
    p.add_argument("--model", required=True, type=input_file, help="model.pt from train")
    p.add_argument("--dataset", required=True, type=hdf5_file, help="HDF5 dataset from build-dataset")
    p.add_argument("--sites-bed", required=True, type=input_file, help="sites.bed from merge-peaks (coordinates)")
    p.add_argument("--out", required=True,
                   help="output directory: attributions.h5, modisco/<lineage>.h5, patterns.tsv, patterns.meme, "
                        "pattern_matches.tsv, summary.tsv and Figures 7A-C")
    p.add_argument("--samples", type=input_file,
                   help="sample sheet: its group column makes the lineages (default: the model's targets, one group)")
    p.add_argument("--targets", nargs="+", metavar="TARGET",
                   help="explain the mean over these targets only (one lineage), instead of the sheet's groups")
    p.add_argument("--by", choices=["group", "target"], default=d["by"],
                   help="one lineage per sheet group, or per target (default: %(default)s)")
    p.add_argument("--no-shared", action="store_true", help="no lineage 'all' (the mean over every target)")
    p.add_argument("--sites", type=config_value("attribution", "sites"), default=d["sites"],
                   help="sites per lineage (default: %(default)s)")
    p.add_argument("--n-shuffles", type=config_value("attribution", "n_shuffles"), default=d["n_shuffles"],
                   help="dinucleotide-shuffled references per site (default: %(default)s)")
    p.add_argument("--split", type=config_value("attribution", "split"), default=d["split"],
                   help="dataset split explained (default: %(default)s)")
    p.add_argument("--min-seqlets", type=config_value("attribution", "min_seqlets"), default=d["min_seqlets"],
                   help="TF-MoDISco: fewest seqlets of a pattern (default: %(default)s)")
    p.add_argument("--databases", nargs="+", default=d["databases"],
                   help="motif databases the patterns are matched against: jaspar, cisbp or MEME files "
                        "(default: %(default)s)")
    p.add_argument("--no-modisco", action="store_true", help="stop after the attributions")
    p.add_argument("--instances", type=input_file,
                   help="a simulation's truth/motif_instances.tsv: grade the attributions (truth_auroc.tsv)")
    p.add_argument("--truth", type=input_file,
                   help="a simulation's truth/simulation.json: which planted factors the patterns recover, and its "
                        "cooperative pairs")
    _device_arg(p)
    _seed_arg(p)


def args_transfer(p) -> None:
    d = schema_defaults("transfer")
    p.add_argument("--model", required=True, type=input_file,
                   help="the pre-trained model.pt (trained without the targets to transfer to)")
    p.add_argument("--dataset", required=True, type=hdf5_file, help="HDF5 dataset holding the new targets")
    p.add_argument("--targets", nargs="+", metavar="TARGET",
                   help="the new cell types (default: the dataset's targets that the model does not predict)")
    p.add_argument("--out", required=True,
                   help="output directory: transfer.tsv, summary.tsv, Figure 6 and fine_tuned/<target>.pt (the "
                        "fine-tuned models)")
    p.add_argument("--metrics", type=input_file,
                   help="a full model's evaluate/metrics.tsv, to compare against (default: no comparison)")
    p.add_argument("--passes", type=config_value("transfer", "passes"), default=d["passes"],
                   help="passes over each target's positives + as many negatives (default: %(default)s)")
    p.add_argument("--lr", type=float, default=d["lr"], help="learning rate (default: train.lr)")
    p.add_argument("--tolerance", type=config_value("transfer", "tolerance"), default=d["tolerance"],
                   help="AUROC difference counted as within (default: %(default)s)")
    p.add_argument("--no-scratch", action="store_true", help="do not also train from a random initialisation")
    _device_arg(p)
    _seed_arg(p)


def args_report(p) -> None:
    p.add_argument("--results", required=True, type=input_dir, help="a run's results folder (results/<run>)")
    p.add_argument("--out", help="folder of index.html and headline.tsv (default: RESULTS/report)")
    p.add_argument("--truth", type=input_file,
                   help="a simulation's truth/simulation.json (grades the numbers against the truth)")
    p.add_argument("--paper-aucs", type=input_file, help="the paper's per-cell AUCs (.xls or TSV) to compare with")
    p.add_argument("--config", type=input_file,
                   help="the run's config YAML: adds the Methods section, its settings beside the paper's")


def args_download(p) -> None:
    from .download import DEADLINE

    p.add_argument("url", type=download_url, help="http(s), ftp or file URL")
    p.add_argument("dest", help="destination file")
    p.add_argument("--md5", type=md5_hex, help="expected md5 of the downloaded bytes")
    p.add_argument("--gunzip", action="store_true", help="decompress after download")
    p.add_argument("--retries", type=POSITIVE_INT, default=3, help="attempts in all (default: %(default)s)")
    p.add_argument("--deadline", type=POSITIVE_NUMBER, default=DEADLINE,
                   help="seconds allowed for one attempt at the whole file; a slower one is retried "
                        "(default: %(default)s)")


def args_info(p) -> None:
    p.add_argument("dataset", type=hdf5_file, help="HDF5 dataset from build-dataset")


#: command -> (one-line help, description or None); the arguments come from args_<name>, the run from cmd_<name>
COMMANDS = {
    "simulate": ("simulate a genome with planted JASPAR motifs, its peaks and truth",
                 "Write the simulated genome (FASTA, .fai, chrom.sizes), one peak file per sample-sheet row "
                 "(OUT/peaks/<name>.<format>.gz, never the sheet's `peaks` paths; `group` names the lineage "
                 "program), genes (GTF), a phyloP-like bigWig, SNPs (VCF, PICS table) and the truth tables."),
    "merge-peaks": ("merge peak files into fixed-width sites (Basset's algorithm)",
                    "Reduce peaks to midpoints, widen to --feature-size, merge peaks overlapping by more than "
                    "--merge-overlap (weighted by activity) and union the activities. Writes sites.bed, "
                    "activity.tsv.gz, targets.tsv and summary.tsv."),
    "bin-peaks": ("DeepSEA's samples: 200 bp bins labelled by many assays' peaks (dataset.mode deepsea)",
                  "Cut the genome into --bin bp bins; a bin is a sample when a peak of a --select assay touches it, "
                  "and a feature (a sheet row) is 1 when one of its peaks covers more than --bin-fraction of the "
                  "bin; the site is the --length bp input centred on the bin. Writes the four files of "
                  "merge-peaks."),
    "split": ("assign merged sites to train/valid/test",
              "Random split by fractions (<1) or counts (>=1), or by held-out chromosomes."),
    "build-dataset": ("write the HDF5 dataset of sequences and targets",
                      "Sequences from the FASTA as uint8 codes (A,C,G,T,N = 0..4) and 0/1 targets, one group per "
                      "split; see `basset.dataset` for the layout."),
    "build-coverage": ("Basenji's dataset: windows tiled over the genome, bigWig coverage summed into bins",
                       "Windows of --window bp every --stride bp over every chromosome (N-rich ones skipped and "
                       "counted); each sample's coverage bigWig summed into --bin bp bins (chr1/1 names matched), "
                       "stored as float16 windows x bins x tracks with the sequences, split by held-out chromosomes "
                       "or at random. Train a basenji or basenji_small model on it with basset train."),
    "train": ("train the CNN on an HDF5 dataset (early stopping, checkpoints, resume)",
              "Trains a preset (basset, deepsea, cpu) with optional overrides. Writes model.pt (best epoch), "
              "checkpoint.pt (every epoch; resumed automatically) and history.tsv. Under torchrun, trains with "
              "DDP on all processes."),
    "kmer": ("fit the k-mer baseline on the train split and score the test split", None),
    "gkmsvm": ("the paper's gkm-SVM baseline for a few cell types (balanced subsample, gkmsvm-lite)",
               "The paper's baseline: per cell type, a gapped k-mer SVM (gkmsvm-lite, LS-GKM's kernels) fitted on a "
               "balanced random subsample of the training sites and scored on a shared subsample of the test "
               "sites; its cost grows with the square of --max-train (benchmarks/README.md)."),
    "evaluate": ("test-set AUROC/AUPRC, Figure 2 and AUROC by site class", None),
    "evaluate-coverage": ("a coverage model's per-track Pearson r on the test windows, with its figures",
                          "Basenji's evaluation: per track, Pearson r of log(1 + coverage) over every test bin and "
                          "r of each test window's summed coverage; the predicted against observed tracks over the "
                          "test window with the most coverage, and the distribution of r."),
    "window-ablation": ("what the long window adds: two coverage models scored on the same central bins",
                        "Scores the long-window model on the bins the short-context model predicts, beside that "
                        "model, per track (r and r^2 of log coverage) and by assay."),
    "delta-track": ("where in the window a variant acts: predicted alt - ref coverage per bin",
                    "For the variant --variant of a SAD file (default: the one with the largest summed effect), "
                    "the coverage model's alt - ref prediction along its window, per track, and the figure."),
    "motifs": ("filter PWMs, Tomtom matches, influence, motif insertion and Figure 3",
               "The motif stage of the workflow: PWMs of the first-layer filters from their activating windows, "
               "Tomtom against the database, influence of each filter by nullification, insertion of known "
               "motifs into background sequences, and the summary table and figures."),
    "satmut": ("in-silico saturation mutagenesis of the sequences of a FASTA file",
               "Predicts every single-base substitution of each FASTA record (cut to the model's input length "
               "around its centre) and writes loss and gain scores per position and cell type (loss.tsv.gz, "
               "gain.tsv.gz) and one Figure-4A-style map per record."),
    "sad": ("SNP accessibility difference (SAD) of every variant of a VCF",
            "Scores each VCF record (plain or gzipped, streamed) with SAD = p(alt) - p(ref) per cell type, "
            "averaged over both strands, into --out/sad.h5 (HDF5: every record with its status, the SAD matrix "
            "as float16, the summaries). The reference allele is checked against the genome: a record whose ALT "
            "is the genome's base is swapped, one matching neither is skipped; chromosome names are matched "
            "with or without 'chr' (and M/MT); malformed records go to sad.rejects.tsv.gz with file:line and "
            "reason (--strict: stop instead). With --pics, also the PICS enrichment (Figure 5A) and the maps "
            "around the top likely-causal SNP (5B), next to them."),
    "gather-sad": ("join the SAD results of the shards of one VCF (basset sad --shard K/N) in VCF order",
                   "Reads the N output directories of basset sad --shard K/N and writes the files one job scoring "
                   "the whole VCF would have written (sad.h5, sad.tsv.gz, sad.rejects.tsv.gz, summary.tsv), "
                   "identical to them. With --pics, also the PICS enrichment of the joined result."),
    "select-variants": ("the VCF records of the PICS SNPs, streamed from a sites VCF",
                        "The PICS table (Farh et al. 2015) names SNPs but gives no alleles. This reads a sites "
                        "VCF (dbSNP, 1000 Genomes; plain, gzipped or bgzipped, from a URL or a local file) once, "
                        "as a stream that is never stored whole, and keeps the records whose ID is a PICS SNP or "
                        "whose CHROM and POS are a PICS SNP's (chr1 and 1 match). Writes them, after the VCF "
                        "header, to --out (gzipped) for `basset sad`, and prints the counts."),
    "predict": ("per-target probabilities of sequences, BED intervals, or genome tiles as bigWig tracks",
                "Predicts with a trained model: the records of a FASTA file (their central bases) or the "
                "model-length windows centred on a BED file's intervals, into a table (--out: TSV or HDF5); with "
                "--bigwig DIR, tiles --region(s) or every chromosome of --genome in bins of --stride bp and writes "
                "one bigWig per target that a genome browser opens."),
    "attribute": ("DeepLIFT/SHAP attributions, TF-MoDISco patterns and their database matches",
                  "The attribution stage of the workflow: per lineage (a sample-sheet group, every target, or "
                  "--targets), DeepLIFT/SHAP hypothetical contributions (tangermeme, dinucleotide-shuffled "
                  "references) and gradient x input of the sites open in it; TF-MoDISco (modisco-lite) on them; "
                  "the patterns' PFMs matched against JASPAR and CIS-BP (Tomtom) and drawn as logos."),
    "transfer": ("fine-tune a pre-trained model to new cell types and save the models",
                 "Transfer learning as the paper's Figure 6: per target, a copy of the pre-trained network with a new "
                 "single-output layer, trained for --passes over its positives plus as many sampled negatives; "
                 "writes the test AUROCs (transfer.tsv), Figure 6 and each fine-tuned model (fine_tuned/<target>.pt)."),
    "report": ("the run's HTML report and headline numbers from a results folder", None),
    "download": ("fetch a URL atomically, with retries and an optional md5 check", None),
    "info": ("describe an HDF5 dataset (splits, shapes, targets)", None),
}


def build_parser() -> argparse.ArgumentParser:
    ap = Parser(prog="basset", description=__doc__, epilog=EPILOG,
                formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--version", action="version", version=f"basset {__version__}")
    ap.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    ap.add_argument("--log", help="also write the log to this file")
    ap.add_argument("--debug", action="store_true", help=DEBUG_HELP)
    sub = ap.add_subparsers(dest="command", required=True, metavar="COMMAND")
    module = sys.modules[__name__]
    for name, (summary, description) in COMMANDS.items():
        p = sub.add_parser(name, help=summary, description=description or summary, epilog=EPILOG)
        getattr(module, "args_" + name.replace("-", "_"))(p)
        # also after the command; SUPPRESS: absent here, it leaves the value of `basset --debug` alone
        p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                       help=DEBUG_HELP)
        p.set_defaults(func=getattr(module, "cmd_" + name.replace("-", "_")))
    return ap


def _user_error(err: Exception) -> str | None:
    """The one-line message of an error that is the input's (a :class:`BassetError`, or the operating system
    refusing a path), ``None`` for any other (a bug: its traceback is shown)."""
    if isinstance(err, BassetError):
        return _one_line(err)
    if isinstance(err, PATH_ERRORS):
        if err.filename is None:  # h5py's FileNotFoundError names the file in its message only
            return _one_line(err)
        names = " -> ".join(str(f) for f in (err.filename, err.filename2) if f is not None)
        return f"{names}: {err.strerror or err}"
    return None


def main(argv: list[str] | None = None) -> int:
    """Run a command; a bad argument or input prints one line on stderr and returns 2 (``--debug``: raises)."""
    from .logs import setup_logging

    args = build_parser().parse_args(argv)  # a bad argument exits here with status 2 (Parser.error)
    try:
        setup_logging(args.log)
        summary = args.func(args)
    except (BassetError, OSError) as err:
        message = _user_error(err)
        if args.debug or message is None:
            raise
        print(f"basset {args.command}: error: {message}", file=sys.stderr)
        return 2
    if summary is not None:
        print(json.dumps(summary, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
