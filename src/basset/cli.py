"""The ``basset`` command line: each stage of the workflow, usable without Snakemake.

    basset simulate      --samples config/samples/simulated.tsv --out resources/simulated
    basset merge-peaks   --samples sheet.tsv --genome genome.fa --out results/run/peaks
    basset split         --sites results/run/peaks/sites.bed --out splits.tsv --valid 0.1 --test 0.1
    basset build-dataset --peaks-dir results/run/peaks --splits splits.tsv --genome genome.fa --out dataset.h5
    basset train         --dataset dataset.h5 --out results/run/train [--preset cpu] [--set lr=0.001 ...]
    basset kmer          --dataset dataset.h5 --out results/run/evaluate
    basset evaluate      --model model.pt --dataset dataset.h5 --out results/run/evaluate [--kmer-metrics ...]
    basset satmut        --model model.pt --fasta seqs.fa --out DIR [--target CELL] [--start 250 --end 350]
    basset sad           --model model.pt --vcf snps.vcf.gz --genome genome.fa --out sad.tsv.gz [--pics pics.tsv]
    basset select-variants --source URL_OR_PATH --pics pics.xls --out pics_snps.vcf.gz
    basset download      URL DEST [--md5 HEX] [--gunzip]
    basset info          dataset.h5

Multi-GPU training: ``torchrun --nproc_per_node N -m basset.cli train ...`` (DDP; one process per GPU).

Run ``basset COMMAND --help`` for the options of each. Errors in inputs name the file and line.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from . import __version__
from .errors import BassetError


def _fraction_or_count(text: str):
    value = float(text)
    return int(value) if value >= 1 else value


def cmd_simulate(args) -> None:
    import yaml

    from .samples import read_sample_sheet
    from .simulate import simulate

    params = yaml.safe_load(Path(args.params).read_text()) if args.params else None
    if params and "simulate" in params:
        params = params["simulate"]
    params = {k: v for k, v in (params or {}).items() if k not in ("enabled", "outdir")}
    summary = simulate(args.out, read_sample_sheet(args.samples), params, seed=args.seed, progress=not args.quiet)
    print(json.dumps(summary, indent=1, default=str)[:4000])


def cmd_merge_peaks(args) -> None:
    from .peaks import merge_peak_files, write_merge
    from .samples import read_sample_sheet
    from .sequence import genome_sizes

    samples = read_sample_sheet(args.samples)
    result = merge_peak_files(samples, genome_sizes(args.genome), args.feature_size, args.merge_overlap, args.midpoint,
                              drop_chry=not args.keep_chry, drop_noncanonical=not args.keep_noncanonical,
                              progress=not args.quiet)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    write_merge(result, out / "sites.bed", out / "activity.tsv.gz", out / "targets.tsv", out / "summary.tsv",
                samples)
    print(f"{len(result.sites)} sites of {args.feature_size} bp from {len(samples)} targets -> {out}/")


def cmd_split(args) -> None:
    from .dataset import split_sites, write_splits
    from .peaks import read_sites

    sites = read_sites(args.sites)
    if args.chromosomes:
        labels = split_sites(sites, "chromosomes", args.valid_chroms, args.test_chroms, seed=args.seed)
    else:
        labels = split_sites(sites, "random", args.valid, args.test, seed=args.seed)
    write_splits(args.out, sites["name"].to_numpy(), labels)
    counts = {s: int((labels == s).sum()) for s in ("train", "valid", "test")}
    print(f"{args.out}: {counts}")


def cmd_build_dataset(args) -> None:
    from .dataset import build_dataset_from_files

    peaks = Path(args.peaks_dir)
    summary = build_dataset_from_files(args.out, peaks / "sites.bed", peaks / "activity.tsv.gz", args.splits,
                                       args.genome, summary_path=args.summary, n_handling=args.n_handling,
                                       max_n_fraction=args.max_n_fraction, seed=args.seed,
                                       compression=args.compression, progress=not args.quiet)
    print(json.dumps(summary, indent=1, default=str))


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


def _device(name):
    import torch

    return name or ("cuda" if torch.cuda.is_available() else "cpu")


def cmd_train(args) -> None:
    from .models import model_config
    from .train import train

    summary = train(args.dataset, args.out, model_config(args.preset, **_settings(args.model)),
                    {"seed": args.seed, **_settings(args.set)}, resume=not args.restart, progress=not args.quiet)
    print(json.dumps({k: v for k, v in summary.items() if k != "history"}, indent=1, default=str))


def cmd_kmer(args) -> None:
    from .evaluate import run_kmer_baseline

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    metrics = run_kmer_baseline(args.dataset, out / "kmer_predictions.tsv.gz", out / "kmer_metrics.tsv", k=args.k,
                                gap=args.gap, C=args.C, max_train=args.max_train, seed=args.seed, n_jobs=args.jobs)
    print(f"k-mer baseline mean test AUROC {metrics['auroc'].mean():.4f} -> {out}/kmer_metrics.tsv")


def cmd_evaluate(args) -> None:
    from .evaluate import evaluate_model
    from .models import load_model

    device = _device(args.device)
    model, _ = load_model(args.model, map_location=device)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"metrics": out / "metrics.tsv", "by_class": out / "auroc_by_class.tsv", "summary": out / "summary.tsv",
             "fig2a": out / "fig2a_heatmap.png", "fig2b": out / "fig2b_cnn_vs_kmer.png", "fig2c": out / "fig2c_roc.png",
             "fig_classes": out / "auroc_by_class.png"}
    summary = evaluate_model(model, args.dataset, paths, kmer_metrics=args.kmer_metrics, sites=args.sites,
                             genes=args.genes, rc_average=not args.no_rc, device=device, seed=args.seed)
    print(json.dumps(summary, indent=1, default=str))


def cmd_satmut(args) -> None:
    from .models import load_model
    from .mutagenesis import satmut_fasta

    device = _device(args.device)
    model, meta = load_model(args.model, map_location=device)
    summary = satmut_fasta(model, args.fasta, args.out, meta["target_names"], target=args.target,
                           start=args.start, end=args.end, rc_average=not args.no_rc, device=device)
    print(json.dumps(summary, indent=1, default=str))


def cmd_sad(args) -> None:
    from .models import load_model
    from .tables import write_summary
    from .variants import score_variants

    device = _device(args.device)
    model, meta = load_model(args.model, map_location=device)
    weights = {k: float(v) for k, v in _settings(args.weights).items()} if args.weights else None
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    summary = score_variants(model, args.genome, args.vcf, out, target_names=meta["target_names"],
                             batch_size=args.batch_size, device=device, rc_average=not args.no_rc, weights=weights,
                             chunk_size=args.chunk_size, progress=not args.quiet)
    if args.pics:
        from .plots.variants import fig5a, fig_satmut
        from .variants import pics_enrichment, read_pics, read_sad, top_snp_maps

        sad, pics = read_sad(out), read_pics(args.pics)
        enrichment = pics_enrichment(sad, pics, high=args.high_pics, low=args.low_pics,
                                     sad_threshold=args.sad_threshold, score=args.score)
        stem = str(out).removesuffix(".gz").removesuffix(".tsv")
        write_summary(f"{stem}_pics_enrichment.tsv", enrichment)
        fig5a(enrichment, f"{stem}_fig5a", threshold=args.sad_threshold)
        ref, alt, title = top_snp_maps(model, args.genome, sad, pics, meta["target_names"], high=args.high_pics,
                                       rc_average=not args.no_rc, device=device)
        fig_satmut([ref, alt], f"{stem}_fig5b", title=title)
        summary["pics_enrichment"] = enrichment
    print(json.dumps(summary, indent=1, default=str))


def cmd_select_variants(args) -> None:
    from .variants import read_pics, select_vcf_records

    summary = select_vcf_records(args.source, args.out, read_pics(args.pics), progress=not args.quiet,
                                 timeout=args.timeout)
    print(json.dumps(summary, indent=1, default=str))


def cmd_download(args) -> None:
    from .download import fetch

    path = fetch(args.url, args.dest, md5=args.md5, gunzip=args.gunzip, retries=args.retries,
                 progress=not args.quiet, deadline=args.deadline)
    print(path)


def cmd_info(args) -> None:
    from .dataset import dataset_info

    print(json.dumps(dataset_info(args.dataset), indent=1, default=str))


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="basset", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--version", action="version", version=f"basset {__version__}")
    ap.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    ap.add_argument("--log", help="also write the log to this file")
    sub = ap.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("simulate", help="simulate a genome with planted JASPAR motifs, its peaks and truth",
                       description="Write the simulated genome (FASTA, .fai, chrom.sizes), one peak file per "
                                   "sample-sheet row (written to OUT/peaks/<name>.<format>.gz, never to the "
                                   "sheet's `peaks` paths; `group` names the lineage program), genes (GTF), phyloP-like bigWig, SNPs (VCF, PICS table) and the "
                                   "truth tables.")
    p.add_argument("--samples", required=True, help="sample sheet (TSV): name, peaks, group, format")
    p.add_argument("--out", default="resources/simulated", help="output directory (default: %(default)s)")
    p.add_argument("--params", help="YAML with simulation parameters (a config's `simulate:` section or the "
                                    "whole config); defaults otherwise")
    p.add_argument("--seed", type=int, default=1, help="random seed (default: %(default)s)")
    p.set_defaults(func=cmd_simulate)

    p = sub.add_parser("merge-peaks", help="merge peak files into fixed-width sites (Basset's algorithm)",
                       description="Reduce peaks to midpoints, widen to --feature-size, merge peaks overlapping by "
                                   "more than --merge-overlap (weighted by activity) and union the activities. "
                                   "Writes sites.bed, activity.tsv.gz, targets.tsv and summary.tsv.")
    p.add_argument("--samples", required=True, help="sample sheet (TSV): name, peaks, [format]")
    p.add_argument("--genome", required=True,
                   help="genome FASTA, its .fai, or a chrom-sizes table (name<TAB>length), told apart by content; "
                        "nothing is written beside it")
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--feature-size", type=int, default=600, help="site width in bp (default: %(default)s)")
    p.add_argument("--merge-overlap", type=int, default=200, help="bp of overlap to merge (default: %(default)s)")
    p.add_argument("--midpoint", choices=["center", "summit"], default="center",
                   help="peak midpoint: interval centre (Basset) or narrowPeak summit (default: %(default)s)")
    p.add_argument("--keep-chry", action="store_true", help="keep chrY peaks (dropped by default, as Basset -y)")
    p.add_argument("--keep-noncanonical", action="store_true",
                   help="keep peaks on contigs other than chr1-22, X, Y (dropped by default)")
    p.set_defaults(func=cmd_merge_peaks)

    p = sub.add_parser("split", help="assign merged sites to train/valid/test",
                       description="Random split by fractions (<1) or counts (>=1), or by held-out chromosomes.")
    p.add_argument("--sites", required=True, help="sites.bed from merge-peaks")
    p.add_argument("--out", required=True, help="output TSV (site, split)")
    p.add_argument("--valid", type=_fraction_or_count, default=0.1, help="fraction or count (default: %(default)s)")
    p.add_argument("--test", type=_fraction_or_count, default=0.1, help="fraction or count (default: %(default)s)")
    p.add_argument("--chromosomes", action="store_true", help="split by chromosomes instead")
    p.add_argument("--valid-chroms", nargs="*", default=[], help="chromosomes held out for validation")
    p.add_argument("--test-chroms", nargs="*", default=[], help="chromosomes held out for test")
    p.add_argument("--seed", type=int, default=1)
    p.set_defaults(func=cmd_split)

    p = sub.add_parser("build-dataset", help="write the HDF5 dataset of sequences and targets",
                       description="Sequences from the FASTA as uint8 codes (A,C,G,T,N = 0..4) and 0/1 targets, "
                                   "one group per split; see `basset.dataset` for the layout.")
    p.add_argument("--peaks-dir", required=True, help="directory with sites.bed and activity.tsv.gz")
    p.add_argument("--splits", required=True, help="splits TSV from `basset split`")
    p.add_argument("--genome", required=True, help="genome FASTA")
    p.add_argument("--out", required=True, help="output HDF5 file")
    p.add_argument("--summary", help="also write the counts as a TSV here")
    p.add_argument("--n-handling", choices=["random", "zero"], default="random",
                   help="N bases: random base (the paper) or all-zero (default: %(default)s)")
    p.add_argument("--max-n-fraction", type=float, default=0.5, help="skip sites with more N (default: %(default)s)")
    p.add_argument("--compression", choices=["gzip", "lzf", "none"], default="gzip")
    p.add_argument("--seed", type=int, default=1)
    p.set_defaults(func=cmd_build_dataset)

    p = sub.add_parser("train", help="train the CNN on an HDF5 dataset (early stopping, checkpoints, resume)",
                       description="Trains a preset (basset, deepsea, cpu) with optional overrides. Writes model.pt "
                                   "(best epoch), checkpoint.pt (every epoch; resumed automatically) and "
                                   "history.tsv. Under torchrun, trains with DDP on all processes.")
    p.add_argument("--dataset", required=True, help="HDF5 dataset from build-dataset")
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--preset", choices=["basset", "deepsea", "cpu"], default="basset")
    p.add_argument("--model", nargs="*", metavar="KEY=VALUE", help="model overrides, e.g. conv_filters=[64,64,64]")
    p.add_argument("--set", nargs="*", metavar="KEY=VALUE",
                   help="training options, e.g. optimizer=adam lr=0.001 max_epochs=20 device=cuda")
    p.add_argument("--restart", action="store_true", help="ignore an existing checkpoint")
    p.add_argument("--seed", type=int, default=1)
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("kmer", help="fit the k-mer baseline on the train split and score the test split")
    p.add_argument("--dataset", required=True)
    p.add_argument("--out", required=True, help="output directory (kmer_metrics.tsv, kmer_predictions.tsv.gz)")
    p.add_argument("--k", type=int, default=6)
    p.add_argument("--gap", type=int, default=0)
    p.add_argument("--C", type=float, default=1.0)
    p.add_argument("--max-train", type=int, default=20000)
    p.add_argument("--jobs", type=int, default=1)
    p.add_argument("--seed", type=int, default=1)
    p.set_defaults(func=cmd_kmer)

    p = sub.add_parser("evaluate", help="test-set AUROC/AUPRC, Figure 2 and AUROC by site class")
    p.add_argument("--model", required=True, help="model.pt from train")
    p.add_argument("--dataset", required=True)
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--kmer-metrics", help="kmer_metrics.tsv from `basset kmer` (Figure 2B)")
    p.add_argument("--sites", help="sites.bed (for site classes)")
    p.add_argument("--genes", help="gene annotation GTF (for site classes)")
    p.add_argument("--no-rc", action="store_true", help="do not average with reverse-complement predictions")
    p.add_argument("--device", help="cpu or cuda (default: cuda when available)")
    p.add_argument("--seed", type=int, default=1)
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("satmut", help="in-silico saturation mutagenesis of the sequences of a FASTA file",
                       description="Predicts every single-base substitution of each FASTA record (cut to the "
                       "model's input length around its centre) and writes loss and gain scores per position and "
                       "cell type (loss.tsv.gz, gain.tsv.gz) and one Figure-4A-style map per record.")
    p.add_argument("--model", required=True, help="model.pt from train")
    p.add_argument("--fasta", required=True, help="sequences, each at least the model's input length")
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--target", help="cell type drawn (default: per record, the one with the largest mean loss)")
    p.add_argument("--start", type=int, help="first position mutated, 0-based in the model's window (default 0)")
    p.add_argument("--end", type=int, help="end of the mutated window, exclusive (default: the whole sequence)")
    p.add_argument("--no-rc", action="store_true", help="do not average with the reverse complement")
    p.add_argument("--device", help="cpu or cuda (default: cuda when available)")
    p.set_defaults(func=cmd_satmut)

    p = sub.add_parser("sad", help="SNP accessibility difference (SAD) of every variant of a VCF",
                       description="Scores each VCF record (plain or gzipped, streamed) with SAD = p(alt) - "
                       "p(ref) per cell type, averaged over both strands. The reference allele is checked "
                       "against the genome: a record whose ALT is the genome's base is swapped, one matching "
                       "neither is skipped and counted. With --pics, also the PICS enrichment (Figure 5A) and "
                       "the maps around the top likely-causal SNP (5B), next to --out.")
    p.add_argument("--model", required=True, help="model.pt from train")
    p.add_argument("--vcf", required=True, help="variants (VCF, plain or gzipped)")
    p.add_argument("--genome", required=True, help="genome FASTA (indexed or indexable by pyfaidx)")
    p.add_argument("--out", required=True, help="output TSV (gzipped if it ends in .gz)")
    p.add_argument("--pics", help="PICS table (Farh et al. 2015 layout) for the enrichment test")
    p.add_argument("--weights", nargs="*", metavar="TARGET=W", help="weighted impact score over these targets")
    p.add_argument("--high-pics", type=float, default=0.5)
    p.add_argument("--low-pics", type=float, default=0.05)
    p.add_argument("--sad-threshold", type=float, default=0.1)
    p.add_argument("--score", choices=("abs_mean", "mean_abs", "max_abs"), default="abs_mean",
                   help="per-SNP score compared between PICS groups (default: |mean SAD| over cell types)")
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--chunk-size", type=int, default=50_000, help="VCF records scored at a time")
    p.add_argument("--no-rc", action="store_true", help="do not average with the reverse complement")
    p.add_argument("--device", help="cpu or cuda (default: cuda when available)")
    p.set_defaults(func=cmd_sad)

    p = sub.add_parser("select-variants", help="the VCF records of the PICS SNPs, streamed from a sites VCF",
                       description="The PICS table (Farh et al. 2015) names SNPs but gives no alleles. This reads "
                       "a sites VCF (dbSNP, 1000 Genomes; plain, gzipped or bgzipped, from a URL or a local file) "
                       "once, as a stream that is never stored whole, and keeps the records whose ID is a PICS "
                       "SNP or whose CHROM and POS are a PICS SNP's (chr1 and 1 match). Writes them, after the "
                       "VCF header, to --out (gzipped) for `basset sad`, and prints the counts.")
    p.add_argument("--source", required=True, help="sites VCF: http(s)/ftp URL or local path")
    p.add_argument("--pics", required=True, help="PICS table (Farh et al. 2015 .xls, or tab-separated text)")
    p.add_argument("--out", required=True, help="output VCF (gzipped), e.g. pics_snps.vcf.gz")
    p.add_argument("--timeout", type=float, default=60,
                   help="seconds allowed to connect and for each read of a URL (default: %(default)s)")
    p.set_defaults(func=cmd_select_variants)

    from .download import DEADLINE  # light (standard library and tqdm): one owner of the default

    p = sub.add_parser("download", help="fetch a URL atomically, with retries and an optional md5 check")
    p.add_argument("url")
    p.add_argument("dest")
    p.add_argument("--md5", help="expected md5 of the downloaded bytes")
    p.add_argument("--gunzip", action="store_true", help="decompress after download")
    p.add_argument("--retries", type=int, default=3, help="attempts in all (default: %(default)s)")
    p.add_argument("--deadline", type=float, default=DEADLINE,
                   help="seconds allowed for one attempt at the whole file; a slower one is retried "
                        "(default: %(default)s)")
    p.set_defaults(func=cmd_download)

    p = sub.add_parser("info", help="describe an HDF5 dataset (splits, shapes, targets)")
    p.add_argument("dataset")
    p.set_defaults(func=cmd_info)
    return ap


def main(argv: list[str] | None = None) -> int:
    from .logs import setup_logging

    args = build_parser().parse_args(argv)
    setup_logging(args.log)
    try:
        args.func(args)
    except BassetError as err:
        print(f"basset {args.command}: error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
