"""The results layout: every stage's file names, declared once.

The workflow's rules (``out(stage, key)`` in ``workflow/rules/common.smk``), the command line (``--out DIR``) and
the report all read their paths from :data:`STAGES`; nothing else spells a results file name. A run writes::

    results/<run>/<stage>/<file>        the stage's outputs (STAGES[stage][key])
    results/<run>/benchmarks/<rule>.tsv Snakemake's benchmark of a rule
    logs/<run>/<stage>/<rule>.log       a rule's log

Figures are written twice, as PNG (``STAGES``) and as a PDF beside it (:func:`pdf`). The simulated genome's
files lie under ``simulate.outdir`` (:data:`OUTPUTS`, :func:`simulated_paths`).
"""

from __future__ import annotations

from pathlib import Path

#: stage -> {key: file name under results/<run>/<stage>/}
STAGES: dict[str, dict[str, str]] = {
    "peaks": {
        "sites": "sites.bed",
        "activity": "activity.tsv.gz",
        "targets": "targets.tsv",
        "summary": "summary.tsv",
        "bin_sites": "bins/sites.bed",  # dataset.mode deepsea: DeepSEA's bins, the same kinds of file
        "bin_activity": "bins/activity.tsv.gz",
        "bin_targets": "bins/targets.tsv",
        "bin_summary": "bins/summary.tsv",
    },
    "dataset": {
        "splits": "splits.tsv",
        "h5": "dataset.h5",
        "summary": "summary.tsv",
    },
    "train": {
        "model": "model.pt",
        "history": "history.tsv",
        "checkpoint": "checkpoint.pt",
        "ablation_model": "ablation/model.pt",  # dataset.mode coverage: the short-window model of the ablation
        "ablation_history": "ablation/history.tsv",
    },
    "evaluate": {
        "kmer_predictions": "kmer_predictions.tsv.gz",
        "kmer_metrics": "kmer_metrics.tsv",
        "gkmsvm_part": "gkmsvm/{target}.tsv.gz",
        "gkmsvm_part_metrics": "gkmsvm/{target}.metrics.tsv",
        "gkmsvm_predictions": "gkmsvm_predictions.tsv.gz",
        "gkmsvm_metrics": "gkmsvm_metrics.tsv",
        "metrics": "metrics.tsv",
        "by_class": "auroc_by_class.tsv",
        "summary": "summary.tsv",
        "fig2a": "fig2a_heatmap.png",
        "fig2b": "fig2b_cnn_vs_kmer.png",
        "fig2c": "fig2c_roc.png",
        "fig_classes": "auroc_by_class.png",
        "by_assay": "auroc_by_assay.tsv",  # dataset.mode deepsea: DeepSEA's evaluation by assay
        "assay_summary": "assay_summary.tsv",
        "fig_assay": "fig_auroc_by_assay.png",
        "coverage_metrics": "coverage_metrics.tsv",  # dataset.mode coverage: Basenji's evaluation per track
        "coverage_summary": "coverage_summary.tsv",
        "fig_coverage_tracks": "fig_coverage_tracks.png",
        "fig_coverage_r": "fig_coverage_r.png",
        "ablation": "window_ablation.tsv",  # and the window-size ablation
        "ablation_summary": "window_ablation_summary.tsv",
        "fig_ablation": "fig_window_ablation.png",
    },
    "motifs": {
        "filters_meme": "filters.meme",
        "filters": "filters.tsv",
        "logos": "filter_logos.png",
        "tomtom": "tomtom.tsv",
        "database_meme": "database.meme",
        "database_table": "database.tsv",
        "influence": "influence.tsv",
        "fig3c": "fig3c_influence.png",
        "insertion": "insertion.tsv",
        "insertion_figure": "motif_insertion.png",
        "filter_summary": "filter_summary.tsv",
        "summary": "summary.tsv",
        "recovery": "planted_factor_recovery.tsv",
        "fig3a": "fig3a_ic_vs_influence.png",
        "fig3b": "fig3b_matches.png",
    },
    "satmut": {
        "scores": "scores.h5",
        "summary": "summary.tsv",
        "phylop": "phylop_regression.tsv",
        "fig4bcd": "fig4bcd_phylop.png",
        "fig4a": "fig4a_maps.png",
        "fig4a_sites": "fig4a_sites.tsv",
    },
    "variants": {
        "sad": "sad.h5",
        "table": "sad.tsv.gz",
        "rejects": "sad.rejects.tsv.gz",
        "targets_tsv": "sad_targets.tsv.gz",
        "shard_sad": "shards/sad.{shard}.h5",
        "shard_rejects": "shards/sad.{shard}.rejects.tsv.gz",
        "shard_summary": "shards/summary.{shard}.tsv",
        "summary": "summary.tsv",
        "pics_summary": "pics_enrichment.tsv",
        "pics_snps": "pics_snps.tsv",
        "fig5a": "fig5a_pics.png",
        "fig5b": "fig5b_top_snp.png",
        "delta_profile": "delta_profile.tsv",  # dataset.mode deepsea: the top likely causal SNP's Delta by assay
        "delta_summary": "delta_summary.tsv",
        "fig_delta": "fig5_delta_profile.png",
        "delta_track": "delta_track.tsv",  # dataset.mode coverage: a variant's alt - ref coverage along the window
        "delta_track_summary": "delta_track_summary.tsv",
        "fig_delta_track": "fig_delta_track.png",
    },
    "transfer": {
        "holdout": "holdout.tsv",
        "public": "public.h5",
        "pretrain_model": "pretrain/model.pt",
        "pretrain_history": "pretrain/history.tsv",
        "table": "transfer.tsv",
        "summary": "summary.tsv",
        "fig6": "fig6_transfer.png",
        "models": "fine_tuned",
    },
    "attribution": {
        "attributions": "attributions.h5",
        "truth": "truth_auroc.tsv",
        "fig_tracks": "fig7c_tracks.png",
        "modisco": "modisco/{lineage}.h5",
        "patterns": "patterns.tsv",
        "patterns_meme": "patterns.meme",
        "matches": "pattern_matches.tsv",
        "recovery": "planted_factor_recovery.tsv",
        "spacing": "pair_spacing.tsv",
        "summary": "summary.tsv",
        "fig_patterns": "fig7a_patterns.png",
        "fig_spacing": "fig7b_pair_spacing.png",
    },
    "report": {
        "html": "index.html",
        "headline": "headline.tsv",
    },
}


#: every results file the report reads, as (stage, key): its tables, then its figures in page order. Declared here,
#: in the base layer, because the workflow's make_report rule names its inputs from it when the workflow is parsed
#: (in every cluster job): the report's own modules need numpy, pandas and scipy. tests/test_report.py checks that
#: the report's panels are these figures.
REPORT_INPUTS: list[tuple[str, str]] = [
    ("evaluate", "summary"), ("evaluate", "metrics"), ("evaluate", "by_class"), ("evaluate", "assay_summary"),
    ("motifs", "summary"), ("motifs", "filter_summary"), ("motifs", "recovery"), ("motifs", "insertion"),
    ("satmut", "summary"), ("satmut", "phylop"),
    ("variants", "summary"), ("variants", "sad"), ("variants", "pics_summary"), ("variants", "delta_summary"),
    ("transfer", "table"), ("transfer", "summary"),
    ("attribution", "summary"), ("attribution", "truth"), ("attribution", "recovery"),
    ("evaluate", "coverage_summary"), ("evaluate", "coverage_metrics"), ("evaluate", "ablation_summary"),
    ("evaluate", "ablation"), ("variants", "delta_track_summary"),
    ("evaluate", "fig2a"), ("evaluate", "fig2b"), ("evaluate", "fig2c"), ("evaluate", "fig_classes"),
    ("evaluate", "fig_assay"),
    ("motifs", "fig3a"), ("motifs", "fig3b"), ("motifs", "fig3c"), ("motifs", "logos"), ("motifs", "insertion_figure"),
    ("satmut", "fig4a"), ("satmut", "fig4bcd"),
    ("variants", "fig5a"), ("variants", "fig5b"), ("variants", "fig_delta"),
    ("attribution", "fig_patterns"), ("attribution", "fig_spacing"), ("attribution", "fig_tracks"),
    ("evaluate", "fig_coverage_tracks"), ("evaluate", "fig_coverage_r"), ("evaluate", "fig_ablation"),
    ("variants", "fig_delta_track"),
    ("transfer", "fig6"),
]


def input_name(stage: str, key: str) -> str:
    """The keyword (and make_report's rule input) name of a stage's file: ``<stage>_<key>``."""
    return f"{stage}_{key}"


def results_dir(run: str) -> Path:
    """``results/<run>``, relative to the working directory."""
    return Path("results") / run


def name(stage: str, key: str) -> str:
    """The file name of ``key`` of ``stage`` (relative to the stage's folder); KeyError names what exists."""
    try:
        return STAGES[stage][key]
    except KeyError:
        known = ", ".join(STAGES.get(stage, STAGES))
        raise KeyError(f"no results file {stage}.{key} in basset.layout.STAGES (known: {known})") from None


def path(root: str | Path, stage: str, key: str) -> Path:
    """``root/<stage>/<file>``: where ``key`` of ``stage`` lies under a results folder ``root``."""
    return Path(root) / stage / name(stage, key)


def stage_paths(root: str | Path, stage: str, keys=None) -> dict[str, Path]:
    """``{key: path}`` of a stage's files under ``root`` (all of them, or ``keys``)."""
    return {key: path(root, stage, key) for key in (keys or STAGES[stage])}


def out_dir_paths(out_dir: str | Path, stage: str, keys=None) -> dict[str, Path]:
    """``{key: path}`` of a stage's files directly in ``out_dir`` (the command line's ``--out DIR``)."""
    return {key: Path(out_dir) / name(stage, key) for key in (keys or STAGES[stage])}


def pdf(png: str | Path) -> str:
    """The PDF written beside a figure's PNG (same stem)."""
    png = str(png)
    if not png.endswith(".png"):
        raise ValueError(f"expected a .png figure path, got {png}")
    return png[: -len(".png")] + ".pdf"


def benchmark(run: str, rule: str) -> str:
    """Snakemake's benchmark file of ``rule``."""
    return f"results/{run}/benchmarks/{rule}.tsv"


def log(run: str, stage: str, rule: str) -> str:
    """The log file of ``rule`` of ``stage``."""
    return f"logs/{run}/{stage}/{rule}.log"


#: the simulation's files (basset.simulate): output key -> path relative to ``simulate.outdir``
OUTPUTS: dict[str, str] = {
    "fasta": "genome.fa",
    "fai": "genome.fa.fai",
    "chrom_sizes": "chrom.sizes",
    "genes": "genes.gtf",
    "phylop": "phylop.bw",
    "vcf": "snps.vcf.gz",
    "pics": "pics.tsv",
    "motif_instances": "truth/motif_instances.tsv",
    "sites": "truth/sites.tsv",
    "cell_activity": "truth/cell_factor_activity.tsv",
    "snps": "truth/snps.tsv",
    "summary": "truth/simulation.json",
}

#: file-name suffix of a simulated peak file by format (all gzipped)
PEAK_SUFFIX = {"narrowPeak": "narrowPeak.gz", "hotspot": "hotspot.bed.gz", "bed": "bed.gz"}


def simulated_paths(outdir: str | Path, samples) -> dict:
    """Where :func:`basset.simulate.simulate` writes into ``outdir``: every key of :data:`OUTPUTS` -> path,
    ``peaks`` -> {sample name: ``outdir/peaks/<name>.<format suffix>``}, and for a sheet with a ``coverage`` column
    ``coverage`` -> {sample name: ``outdir/coverage/<name>.bw``}. Derived from ``outdir`` and the sample names only,
    never from a sheet's ``peaks`` or ``coverage`` column."""
    outdir = str(outdir).rstrip("/")
    formats = samples["format"] if "format" in samples else ["narrowPeak"] * len(samples)
    out = {key: f"{outdir}/{rel}" for key, rel in OUTPUTS.items()}
    out["peaks"] = {name: f"{outdir}/peaks/{name}.{PEAK_SUFFIX.get(fmt or 'narrowPeak', 'narrowPeak.gz')}"
                    for name, fmt in zip(samples["name"], formats)}
    if "coverage" in samples:
        out["coverage"] = {name: f"{outdir}/coverage/{name}.bw" for name in samples["name"]}
    return out


def truth_file(truth_dir: str | Path, key: str) -> Path:
    """The simulation's truth file ``key`` of :data:`OUTPUTS` (``snps``, ``cell_activity``, ...) in its truth folder
    (the folder of ``truth/simulation.json``), where every truth file lies."""
    return Path(truth_dir) / Path(OUTPUTS[key]).name
