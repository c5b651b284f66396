"""The ``basset`` command line: each stage of the workflow, usable without Snakemake.

    basset simulate      --samples config/samples/simulated.tsv --out resources/simulated
    basset merge-peaks   --samples sheet.tsv --genome genome.fa --out results/run/peaks
    basset split         --sites results/run/peaks/sites.bed --out splits.tsv --valid 0.1 --test 0.1
    basset build-dataset --peaks-dir results/run/peaks --splits splits.tsv --genome genome.fa --out dataset.h5
    basset train         --dataset dataset.h5 --out results/run/train [--preset cpu] [--set lr=0.001 ...]
    basset kmer          --dataset dataset.h5 --out results/run/evaluate
    basset evaluate      --model model.pt --dataset dataset.h5 --out results/run/evaluate [--kmer-metrics ...]
    basset motifs        --model model.pt --dataset dataset.h5 --out results/run/motifs [--database jaspar]
    basset satmut        --model model.pt --fasta seqs.fa --out DIR [--target CELL] [--start 250 --end 350]
    basset sad           --model model.pt --vcf snps.vcf.gz --genome genome.fa --out sad.tsv.gz [--pics pics.tsv]
    basset select-variants --source URL_OR_PATH --pics pics.xls --out pics_snps.vcf.gz
    basset report        --results results/run
    basset download      URL DEST [--md5 HEX] [--gunzip]
    basset info          dataset.h5

Multi-GPU training: ``torchrun --nproc_per_node N -m basset.cli train ...`` (DDP; one process per GPU).

Every command calls the same stage function (:mod:`basset.stages`) as the workflow's rule, with file names from
:mod:`basset.layout` under ``--out`` and defaults from the config schema. Run ``basset COMMAND --help`` for the
options of each. Errors in inputs name the file and line.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from . import __version__, layout
from .config import schema_defaults, top_level_default
from .errors import BassetError

# Each command imports its stage when it runs (imports inside the functions below), so that `basset --help` does
# not wait for torch, pandas and matplotlib: the face is the one place where basset modules are imported late.


def _fraction_or_count(text: str):
    value = float(text)
    return int(value) if value >= 1 else value


def _settings(pairs: list[str]) -> dict:
    """``key=value`` strings -> dict, values parsed as YAML (``lr=0.001``, ``conv_filters=[64,64,64]``)."""
    import yaml

    out = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep:
            raise SystemExit(f"expected key=value, got {pair!r}")
        out[key.strip()] = yaml.safe_load(value)
    return out


def _yaml_section(path: str | None, section: str) -> dict:
    """A config's section (or the whole YAML when it is only that section) from ``--params``."""
    import yaml

    params = yaml.safe_load(Path(path).read_text()) if path else None
    if params and section in params:
        params = params[section]
    return dict(params or {})


# ------------------------------------------------------------------------------------------------ commands
def cmd_simulate(args) -> dict:
    from .samples import read_sample_sheet
    from .stages.simulate import simulate_genome

    out = {"summary": layout.simulated_paths(args.out, read_sample_sheet(args.samples))["summary"]}
    return simulate_genome(samples=args.samples, out=out, simulate=_yaml_section(args.params, "simulate"),
                           seed=args.seed, progress=not args.quiet)


def cmd_merge_peaks(args) -> dict:
    from .stages.peaks import merge_peaks

    options = {"feature_size": args.feature_size, "merge_overlap": args.merge_overlap, "midpoint": args.midpoint,
               "drop_chry": not args.keep_chry, "drop_noncanonical": not args.keep_noncanonical}
    summary = merge_peaks(samples=args.samples, fai=args.genome, out=layout.out_dir_paths(args.out, "peaks"),
                          peaks_config=options, progress=not args.quiet)
    print(f"{summary['sites']} sites of {args.feature_size} bp from {summary['targets']} targets -> {args.out}/")
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


def cmd_train(args) -> dict:
    from .stages.train import train_model

    model = {"preset": args.preset, **_settings(args.model)}
    summary = train_model(args.dataset, out=layout.out_dir_paths(args.out, "train", ["model", "history"]),
                          model=model, train=_settings(args.set), seed=args.seed, resume=not args.restart,
                          progress=not args.quiet)
    return {k: v for k, v in summary.items() if k != "history"}


def cmd_kmer(args) -> dict:
    from .stages.evaluate import kmer_baseline

    out = layout.out_dir_paths(args.out, "evaluate", ["kmer_predictions", "kmer_metrics"])
    kmer = {"k": args.k, "gap": args.gap, "C": args.C, "max_train": args.max_train}
    summary = kmer_baseline(args.dataset, out=out, kmer=kmer, seed=args.seed, threads=args.jobs)
    print(f"k-mer baseline mean test AUROC {summary['kmer_mean_auroc']:.4f} -> {out['kmer_metrics']}")
    return summary


def cmd_evaluate(args) -> dict:
    from .stages.evaluate import evaluate_model

    keys = ["metrics", "by_class", "summary", "fig2a", "fig2b", "fig2c", "fig_classes"]
    return evaluate_model(args.model, args.dataset, args.kmer_metrics, args.sites, args.genes,
                          out=layout.out_dir_paths(args.out, "evaluate", keys),
                          evaluate={"rc_average": not args.no_rc}, seed=args.seed, device=args.device)


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

    return satmut_fasta(args.model, args.fasta, args.out, target=args.target, start=args.start, end=args.end,
                        rc_average=not args.no_rc, device=args.device)


def cmd_sad(args) -> dict:
    from .stages.variants import pics_enrichment, score_snps

    weights = {k: float(v) for k, v in _settings(args.weights).items()} if args.weights else {}
    variants = {"batch_size": args.batch_size, "rc_average": not args.no_rc, "weights": weights,
                "chunk_size": args.chunk_size}
    summary = score_snps(args.model, args.genome, args.vcf, out={"sad": args.out}, variants=variants,
                         device=args.device, progress=not args.quiet)
    if args.pics:
        stem = str(args.out).removesuffix(".gz").removesuffix(".tsv")
        out = {"summary": f"{stem}_pics_enrichment.tsv", "snps": f"{stem}_pics_snps.tsv",
               "fig5a": f"{stem}_fig5a.png", "fig5b": f"{stem}_fig5b.png"}
        options = {"high_pics": args.high_pics, "low_pics": args.low_pics, "sad_threshold": args.sad_threshold,
                   "score": args.score, "rc_average": not args.no_rc}
        summary["pics_enrichment"] = pics_enrichment(args.out, args.pics, args.model, args.genome, out=out,
                                                     variants=options, device=args.device)
    return summary


def cmd_select_variants(args) -> dict:
    from .stages.variants import select_pics_variants

    return select_pics_variants(args.pics, out={"vcf": args.out}, source=args.source, progress=not args.quiet,
                                timeout=args.timeout)


def cmd_report(args) -> dict:
    from .stages.report import make_report, report_inputs

    results = Path(args.results)
    out = layout.stage_paths(args.out or results, "report")
    return make_report(out=out, **report_inputs(results), truth=args.truth, paper_aucs=args.paper_aucs,
                       config={"run": results.name})


def cmd_download(args) -> dict:
    from .stages.download import download_file

    return download_file(out={"file": args.dest}, url=args.url, md5=args.md5, gunzip=args.gunzip,
                         retries=args.retries, deadline=args.deadline, progress=not args.quiet)


def cmd_info(args) -> dict:
    from .dataset import dataset_info

    return dataset_info(args.dataset)


# --------------------------------------------------------------------------------------------------- parser
def _device_arg(p) -> None:
    p.add_argument("--device", help="auto, cpu or cuda (the config key train.device; default: cuda when torch "
                                    "sees a GPU)")


def _seed_arg(p) -> None:
    p.add_argument("--seed", type=int, default=top_level_default("seed"), help="random seed (default: %(default)s)")


def args_simulate(p) -> None:
    p.add_argument("--samples", required=True, help="sample sheet (TSV): name, peaks, group, format")
    p.add_argument("--out", default=schema_defaults("simulate")["outdir"],
                   help="output directory (default: %(default)s)")
    p.add_argument("--params", help="YAML with simulation parameters (a config's `simulate:` section or the "
                                    "whole config); the schema's defaults otherwise")
    _seed_arg(p)


def args_merge_peaks(p) -> None:
    d = schema_defaults("peaks")
    p.add_argument("--samples", required=True, help="sample sheet (TSV): name, peaks, [format]")
    p.add_argument("--genome", required=True,
                   help="genome FASTA, its .fai, or a chrom-sizes table (name<TAB>length), told apart by content; "
                        "nothing is written beside it")
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--feature-size", type=int, default=d["feature_size"], help="site width in bp (default: "
                                                                                "%(default)s)")
    p.add_argument("--merge-overlap", type=int, default=d["merge_overlap"],
                   help="bp of overlap to merge (default: %(default)s)")
    p.add_argument("--midpoint", choices=["center", "summit"], default=d["midpoint"],
                   help="peak midpoint: interval centre (Basset) or narrowPeak summit (default: %(default)s)")
    p.add_argument("--keep-chry", action="store_true", help="keep chrY peaks (dropped by default, as Basset -y)")
    p.add_argument("--keep-noncanonical", action="store_true",
                   help="keep peaks on contigs other than chr1-22, X, Y (dropped by default)")


def args_split(p) -> None:
    d = schema_defaults("dataset")["split"]
    p.add_argument("--sites", required=True, help="sites.bed from merge-peaks")
    p.add_argument("--out", required=True, help="output TSV (site, split)")
    p.add_argument("--valid", type=_fraction_or_count, default=d["valid"],
                   help="fraction or count (default: %(default)s)")
    p.add_argument("--test", type=_fraction_or_count, default=d["test"], help="fraction or count (default: "
                                                                              "%(default)s)")
    p.add_argument("--chromosomes", action="store_true", help="split by chromosomes instead")
    p.add_argument("--valid-chroms", nargs="*", default=[], help="chromosomes held out for validation")
    p.add_argument("--test-chroms", nargs="*", default=[], help="chromosomes held out for test")
    _seed_arg(p)


def args_build_dataset(p) -> None:
    d = schema_defaults("dataset")
    p.add_argument("--peaks-dir", required=True, help="directory with sites.bed and activity.tsv.gz")
    p.add_argument("--splits", required=True, help="splits TSV from `basset split`")
    p.add_argument("--genome", required=True, help="genome FASTA")
    p.add_argument("--out", required=True, help="output HDF5 file")
    p.add_argument("--summary", help="also write the counts as a TSV here")
    p.add_argument("--n-handling", choices=["random", "zero"], default=d["n_handling"],
                   help="N bases: random base (the paper) or all-zero (default: %(default)s)")
    p.add_argument("--max-n-fraction", type=float, default=d["max_n_fraction"],
                   help="skip sites with more N (default: %(default)s)")
    p.add_argument("--compression", choices=["gzip", "lzf", "none"], default=d["compression"],
                   help="HDF5 compression (default: %(default)s)")
    _seed_arg(p)


def args_train(p) -> None:
    p.add_argument("--dataset", required=True, help="HDF5 dataset from build-dataset")
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--preset", choices=["basset", "deepsea", "cpu"], default=schema_defaults("model")["preset"],
                   help="architecture (default: %(default)s)")
    p.add_argument("--model", nargs="*", metavar="KEY=VALUE", help="model overrides, e.g. conv_filters=[64,64,64]")
    p.add_argument("--set", nargs="*", metavar="KEY=VALUE",
                   help="training options (the config's train: keys), e.g. optimizer=adam lr=0.001 max_epochs=20 "
                        "device=cuda")
    p.add_argument("--restart", action="store_true", help="ignore an existing checkpoint")
    _seed_arg(p)


def args_kmer(p) -> None:
    d = schema_defaults("kmer")
    p.add_argument("--dataset", required=True)
    p.add_argument("--out", required=True, help="output directory (kmer_metrics.tsv, kmer_predictions.tsv.gz)")
    p.add_argument("--k", type=int, default=d["k"], help="k-mer length (default: %(default)s)")
    p.add_argument("--gap", type=int, default=d["gap"], help="gapped k-mers: gap length (default: %(default)s)")
    p.add_argument("--C", type=float, default=d["C"], help="inverse regularisation (default: %(default)s)")
    p.add_argument("--max-train", type=int, default=d["max_train"],
                   help="training sites used at most (default: %(default)s)")
    p.add_argument("--jobs", type=int, default=1, help="targets fitted in parallel (default: %(default)s)")
    _seed_arg(p)


def args_evaluate(p) -> None:
    p.add_argument("--model", required=True, help="model.pt from train")
    p.add_argument("--dataset", required=True)
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--kmer-metrics", help="kmer_metrics.tsv from `basset kmer` (Figure 2B)")
    p.add_argument("--sites", help="sites.bed (for site classes)")
    p.add_argument("--genes", help="gene annotation GTF (for site classes)")
    p.add_argument("--no-rc", action="store_true", help="do not average with reverse-complement predictions")
    _device_arg(p)
    _seed_arg(p)


def args_motifs(p) -> None:
    d = schema_defaults("motifs")
    p.add_argument("--model", required=True, help="model.pt from train")
    p.add_argument("--dataset", required=True)
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--database", default=d["database"],
                   help="motif database: a MEME file, or jaspar (JASPAR CORE vertebrates, offline; default)")
    p.add_argument("--split", default=d["split"], help="dataset split the filters are read on (default: "
                                                      "%(default)s)")
    p.add_argument("--truth", help="a simulation's truth/simulation.json (grades the filters against the planted "
                                   "factors)")
    _device_arg(p)
    _seed_arg(p)


def args_satmut(p) -> None:
    p.add_argument("--model", required=True, help="model.pt from train")
    p.add_argument("--fasta", required=True, help="sequences, each at least the model's input length")
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--target", help="cell type drawn (default: per record, the one with the largest mean loss)")
    p.add_argument("--start", type=int, help="first position mutated, 0-based in the model's window (default 0)")
    p.add_argument("--end", type=int, help="end of the mutated window, exclusive (default: the whole sequence)")
    p.add_argument("--no-rc", action="store_true", help="do not average with the reverse complement")
    _device_arg(p)


def args_sad(p) -> None:
    d = schema_defaults("variants")
    p.add_argument("--model", required=True, help="model.pt from train")
    p.add_argument("--vcf", required=True, help="variants (VCF, plain or gzipped)")
    p.add_argument("--genome", required=True, help="genome FASTA (indexed or indexable by pyfaidx)")
    p.add_argument("--out", required=True, help="output TSV (gzipped if it ends in .gz)")
    p.add_argument("--pics", help="PICS table (Farh et al. 2015 layout) for the enrichment test")
    p.add_argument("--weights", nargs="*", metavar="TARGET=W", help="weighted impact score over these targets")
    p.add_argument("--high-pics", type=float, default=d["high_pics"], help="default: %(default)s")
    p.add_argument("--low-pics", type=float, default=d["low_pics"], help="default: %(default)s")
    p.add_argument("--sad-threshold", type=float, default=d["sad_threshold"], help="default: %(default)s")
    p.add_argument("--score", choices=("abs_mean", "mean_abs", "max_abs"), default=d["score"],
                   help="per-SNP score compared between PICS groups (default: %(default)s)")
    p.add_argument("--batch-size", type=int, default=d["batch_size"], help="default: %(default)s")
    p.add_argument("--chunk-size", type=int, default=d["chunk_size"],
                   help="VCF records scored at a time (default: %(default)s)")
    p.add_argument("--no-rc", action="store_true", help="do not average with the reverse complement")
    _device_arg(p)


def args_select_variants(p) -> None:
    p.add_argument("--source", required=True, help="sites VCF: http(s)/ftp URL or local path")
    p.add_argument("--pics", required=True, help="PICS table (Farh et al. 2015 .xls, or tab-separated text)")
    p.add_argument("--out", required=True, help="output VCF (gzipped), e.g. pics_snps.vcf.gz")
    p.add_argument("--timeout", type=float, default=60,
                   help="seconds allowed to connect and for each read of a URL (default: %(default)s)")


def args_report(p) -> None:
    p.add_argument("--results", required=True, help="a run's results folder (results/<run>)")
    p.add_argument("--out", help="folder of index.html and headline.tsv (default: RESULTS/report)")
    p.add_argument("--truth", help="a simulation's truth/simulation.json (grades the numbers against the truth)")
    p.add_argument("--paper-aucs", help="the paper's per-cell AUCs (.xls or TSV) to compare with")


def args_download(p) -> None:
    from .download import DEADLINE

    p.add_argument("url")
    p.add_argument("dest")
    p.add_argument("--md5", help="expected md5 of the downloaded bytes")
    p.add_argument("--gunzip", action="store_true", help="decompress after download")
    p.add_argument("--retries", type=int, default=3, help="attempts in all (default: %(default)s)")
    p.add_argument("--deadline", type=float, default=DEADLINE,
                   help="seconds allowed for one attempt at the whole file; a slower one is retried "
                        "(default: %(default)s)")


def args_info(p) -> None:
    p.add_argument("dataset")


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
    "split": ("assign merged sites to train/valid/test",
              "Random split by fractions (<1) or counts (>=1), or by held-out chromosomes."),
    "build-dataset": ("write the HDF5 dataset of sequences and targets",
                      "Sequences from the FASTA as uint8 codes (A,C,G,T,N = 0..4) and 0/1 targets, one group per "
                      "split; see `basset.dataset` for the layout."),
    "train": ("train the CNN on an HDF5 dataset (early stopping, checkpoints, resume)",
              "Trains a preset (basset, deepsea, cpu) with optional overrides. Writes model.pt (best epoch), "
              "checkpoint.pt (every epoch; resumed automatically) and history.tsv. Under torchrun, trains with "
              "DDP on all processes."),
    "kmer": ("fit the k-mer baseline on the train split and score the test split", None),
    "evaluate": ("test-set AUROC/AUPRC, Figure 2 and AUROC by site class", None),
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
            "averaged over both strands. The reference allele is checked against the genome: a record whose ALT "
            "is the genome's base is swapped, one matching neither is skipped and counted. With --pics, also the "
            "PICS enrichment (Figure 5A) and the maps around the top likely-causal SNP (5B), next to --out."),
    "select-variants": ("the VCF records of the PICS SNPs, streamed from a sites VCF",
                        "The PICS table (Farh et al. 2015) names SNPs but gives no alleles. This reads a sites "
                        "VCF (dbSNP, 1000 Genomes; plain, gzipped or bgzipped, from a URL or a local file) once, "
                        "as a stream that is never stored whole, and keeps the records whose ID is a PICS SNP or "
                        "whose CHROM and POS are a PICS SNP's (chr1 and 1 match). Writes them, after the VCF "
                        "header, to --out (gzipped) for `basset sad`, and prints the counts."),
    "report": ("the run's HTML report and headline numbers from a results folder", None),
    "download": ("fetch a URL atomically, with retries and an optional md5 check", None),
    "info": ("describe an HDF5 dataset (splits, shapes, targets)", None),
}


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="basset", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--version", action="version", version=f"basset {__version__}")
    ap.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    ap.add_argument("--log", help="also write the log to this file")
    sub = ap.add_subparsers(dest="command", required=True, metavar="COMMAND")
    module = sys.modules[__name__]
    for name, (summary, description) in COMMANDS.items():
        p = sub.add_parser(name, help=summary, description=description or summary)
        getattr(module, "args_" + name.replace("-", "_"))(p)
        p.set_defaults(func=getattr(module, "cmd_" + name.replace("-", "_")))
    return ap


def main(argv: list[str] | None = None) -> int:
    from .logs import setup_logging

    args = build_parser().parse_args(argv)
    setup_logging(args.log)
    try:
        summary = args.func(args)
    except BassetError as err:
        print(f"basset {args.command}: error: {err}", file=sys.stderr)
        return 2
    if summary is not None:
        print(json.dumps(summary, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
