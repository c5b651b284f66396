"""Stage variants: SNP accessibility difference and PICS enrichment (the paper's Figure 5) over files.

One function per rule (``workflow/rules/variants.smk``, and ``select_pics_variants`` of
``workflow/rules/download.smk``):

- :func:`score_snps`: the SAD table of every VCF record (``sad.tsv.gz``, read back with :func:`read_sad`) and its
  counts (swapped, skipped and split records), streamed ``chunk_size`` records at a time (:func:`score_variants`);
- :func:`pics_enrichment`: do likely-causal GWAS SNPs (high PICS) change predicted accessibility more than
  unlikely ones (Figure 5A)? And the mutagenesis maps around the top likely-causal SNP, reference and
  alternative (Figure 5B, :func:`top_snp_maps`);
- :func:`select_pics_variants`: the records of the PICS SNPs (which have no alleles) from a large sites VCF.

The arithmetic is :mod:`basset.vcf` (records, windows), :mod:`basset.sad`, :mod:`basset.pics` and
:mod:`basset.ism`; the figures are :mod:`basset.plots.variants` (5A) and :mod:`basset.plots.mutagenesis` (5B).
"""

from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path

import pandas as pd

from ..config import with_defaults
from ..device import use_device
from ..errors import InputError
from ..fileio import atomic_open
from ..ism import ism, satmut_map
from ..logs import progress_bar
from ..models import load_model
from ..pics import enrichment, join_pics, read_pics, select_vcf_records, top_snp
from ..plots.mutagenesis import fig_satmut
from ..plots.variants import fig5a
from ..sad import (
    SAD_COLUMNS,
    check_target_names,
    format_rows,
    input_length,
    sad_frame,
    sad_header,
    sad_target_columns,
    score_windows,
    weight_vector,
)
from ..sequence import Genome
from ..tables import write_summary, write_table
from ..vcf import iter_vcf, variant_sequences

log = logging.getLogger("basset.stages.variants")


# ------------------------------------------------------------------------------------------------ score_snps
def score_snps(model, fasta, vcf, *, out: dict, variants: dict | None = None, device=None,
               threads: int | None = None, fai=None, progress: bool = False) -> dict:
    """Rule score_snps: SAD = p(alt) - p(ref) per target of every record of ``vcf`` (plain or gzipped) against
    the genome ``fasta`` (indexed; ``fai``, its index, is the rule's dependency only), with the model.pt
    ``model``.

    ``variants``: the config section (keys used: ``batch_size``, ``rc_average``, ``weights``, ``chunk_size``).
    Writes ``out["sad"]`` (the SAD table, gzipped when its name ends in ``.gz``) and, when given,
    ``out["summary"]`` (the counts of :func:`score_variants`, which it returns).
    """
    cfg = with_defaults("variants", variants)
    dev = use_device(device, threads)
    net, meta = load_model(model, map_location=dev)
    summary = score_variants(net, fasta, vcf, out["sad"], target_names=meta["target_names"],
                             batch_size=int(cfg["batch_size"]), device=dev, rc_average=bool(cfg["rc_average"]),
                             weights=cfg.get("weights") or None, chunk_size=int(cfg["chunk_size"]),
                             progress=progress)
    if out.get("summary"):
        write_summary(out["summary"], summary)
    return summary


def score_variants(model, genome: Genome | str | Path, vcf_path: str | Path, out_path: str | Path,
                   target_names, seq_len: int | None = None, batch_size: int = 256, device="cpu",
                   rc_average: bool = True, weights: dict | None = None, chunk_size: int = 50_000,
                   progress: bool = False) -> dict:
    """Score every variant of a VCF with SAD = p(alt) - p(ref) per target and write a TSV (gzip if
    ``out_path`` ends in ``.gz``).

    ``model``: any ``nn.Module`` mapping ``(B, 4, L)`` one-hot to ``(B, T)`` logits; ``seq_len`` defaults
    to ``model.config['seq_len']``. ``target_names``: ``T`` column names (``meta['target_names']`` of
    :func:`basset.models.load_model`). ``weights``: ``{target: w}`` adds ``weighted = sum w_t |SAD_t|``.

    The VCF is streamed ``chunk_size`` records at a time (memory does not grow with the file); rows are
    written in VCF order as they are scored, to a temporary file renamed to ``out_path`` at the end
    (:func:`basset.fileio.atomic_open`); a full disk raises :class:`basset.fileio.DiskFullError` naming it.
    Columns: :func:`basset.sad.sad_header` (6 significant digits).

    Returns a dict of counts (also logged): variants_read, multiallelic_records, multiallelic_extra_rows,
    symbolic_skipped, scored, snvs_scored, indels_scored, mnps_scored, swapped, ref_mismatch_skipped
    (of which indel_ref_mismatch_skipped), unknown_chrom_skipped, unknown_chroms (comma-separated),
    outside_chrom_skipped, off_end_padded, plus seq_len, targets and rc_average.
    """
    target_names = check_target_names(target_names)
    L = input_length(model, seq_len)
    w_vec = weight_vector(weights, target_names)
    own_genome = not isinstance(genome, Genome)
    if own_genome:
        genome = Genome(genome)
    out_path = Path(out_path)
    counts: Counter = Counter()
    unknown_chroms: set[str] = set()
    bar = progress_bar(None, progress, "scoring variants", "variant")
    try:
        with atomic_open(out_path, "w", gzip_level=6 if out_path.name.endswith(".gz") else None) as fh:
            fh.write("\t".join(sad_header(target_names, w_vec is not None)) + "\n")
            for chunk in iter_vcf(vcf_path, chunk_size=chunk_size, counts=counts):
                vs = variant_sequences(genome, chunk, L)
                counts.update(vs.tally())
                unknown_chroms.update(chunk["chrom"].to_numpy(dtype=object)[vs.status == "unknown_chrom"].tolist())
                if vs.kept.any():
                    sad = score_windows(model, vs.ref, vs.alt, len(target_names), batch_size, device, rc_average)
                    fh.write(format_rows(sad_frame(vs.scored(chunk), sad, target_names, w_vec)))
                bar.update(len(chunk))
    finally:
        bar.close()
        if own_genome:
            genome.close()
    summary = _sad_summary(counts, unknown_chroms, L, len(target_names), rc_average)
    _log_sad_summary(vcf_path, out_path, summary)
    return summary


def _sad_summary(counts: Counter, unknown_chroms: set[str], L: int, T: int, rc_average: bool) -> dict:
    """The counts of :func:`score_variants` in the order of its docstring (statuses as ``..._skipped``)."""
    summary = {k: int(counts[k]) for k in ("variants_read", "multiallelic_records", "multiallelic_extra_rows",
                                           "symbolic_skipped")}
    summary["scored"] = int(counts["ok"] + counts["swapped"])
    for key in ("snvs_scored", "mnps_scored", "indels_scored", "swapped"):
        summary[key] = int(counts[key])
    summary.update({
        "ref_mismatch_skipped": int(counts["ref_mismatch"]),
        "indel_ref_mismatch_skipped": int(counts["indel_ref_mismatch_skipped"]),
        "unknown_chrom_skipped": int(counts["unknown_chrom"]),
        "unknown_chroms": ",".join(sorted(unknown_chroms)),
        "outside_chrom_skipped": int(counts["outside_chrom"]),
        "off_end_padded": int(counts["off_end_padded"]),
        "seq_len": L,
        "targets": T,
        "rc_average": bool(rc_average),
    })
    return summary


def _log_sad_summary(vcf_path, out_path, s: dict) -> None:
    log.info("SAD of %s -> %s: %d variants read (%d multi-allelic records split into %d extra rows, %d symbolic "
             "skipped); %d scored (%d SNVs, %d MNPs, %d indels; %d swapped to the genome's allele, %d padded "
             "with N off a chromosome end); skipped: %d REF mismatching the genome (%d indels), %d on unknown "
             "chromosomes (%s), %d outside their chromosome",
             vcf_path, out_path, s["variants_read"], s["multiallelic_records"], s["multiallelic_extra_rows"],
             s["symbolic_skipped"], s["scored"], s["snvs_scored"], s["mnps_scored"], s["indels_scored"],
             s["swapped"], s["off_end_padded"], s["ref_mismatch_skipped"], s["indel_ref_mismatch_skipped"],
             s["unknown_chrom_skipped"], s["unknown_chroms"] or "none", s["outside_chrom_skipped"])


def read_sad(path: str | Path) -> pd.DataFrame:
    """Read a :func:`score_variants` table; ``df.attrs['target_names']`` lists the per-target SAD columns."""
    try:
        header = pd.read_csv(path, sep="\t", nrows=0).columns
    except pd.errors.EmptyDataError:
        raise InputError(path, "empty file: expected a SAD table with a header", line=1) from None
    text_cols = ("chrom", "id", "ref", "alt", "top_target", "swapped")
    # IDs and names stay text ("NA", "nan" are valid IDs); only the numeric columns parse NaN
    df = pd.read_csv(path, sep="\t", dtype={c: str for c in text_cols if c in header}, keep_default_na=False,
                     na_values={c: ["nan", "NaN"] for c in header if c not in text_cols and c != "pos"})
    missing = [c for c in SAD_COLUMNS if c != "weighted" and c not in df.columns]
    if missing:
        raise InputError(path, f"not a SAD table: missing columns {', '.join(missing)} (expected "
                         f"{', '.join(SAD_COLUMNS[:-1])}, [weighted], then one column per target)", line=1)
    df["swapped"] = df["swapped"].astype(str).str.lower().eq("true")
    df.attrs["target_names"] = sad_target_columns(df)
    return df


# ------------------------------------------------------------------------------------------- pics_enrichment
def pics_enrichment(sad, pics, model, fasta, *, out: dict, variants: dict | None = None, device=None,
                    threads: int | None = None, fai=None) -> dict:
    """Rule pics_enrichment: the SAD table ``sad`` joined to the PICS table ``pics`` (Farh et al. 2015 layout,
    text or .xls); likely-causal (PICS >= ``high_pics``) against unlikely (<= ``low_pics``) SNPs.

    ``variants``: the config section (keys used: ``high_pics``, ``low_pics``, ``sad_threshold``, ``score``,
    ``plot_window``, ``rc_average``). Writes ``out["summary"]`` (the :func:`basset.pics.enrichment` dict, which
    it returns), ``out["snps"]`` (the PICS SNPs with their score), ``out["fig5a"]`` and ``out["fig5b"]`` (the
    maps around the top SNP, from the model.pt ``model`` and the genome ``fasta``).
    """
    cfg = with_defaults("variants", variants)
    high, threshold = float(cfg["high_pics"]), float(cfg["sad_threshold"])
    sad_table, pics_df = read_sad(sad), read_pics(pics)
    summary = enrichment(sad_table, pics_df, high=high, low=float(cfg["low_pics"]), sad_threshold=threshold,
                         score=cfg["score"])
    write_table(out["snps"], join_pics(sad_table, pics_df, cfg["score"]), float_format="%.6g")
    fig5a(summary, out["fig5a"], threshold=threshold)
    dev = use_device(device, threads)
    net, meta = load_model(model, map_location=dev)
    ref, alt, title = top_snp_maps(net, fasta, sad_table, pics_df, meta["target_names"], high=high,
                                   window=int(cfg["plot_window"]), rc_average=bool(cfg["rc_average"]), device=dev)
    fig_satmut([ref, alt], out["fig5b"], title=title)
    log.info("Figure 5B: %s", title)
    write_summary(out["summary"], summary)
    return summary


def top_snp_maps(model, genome: Genome | str | Path, sad_table: pd.DataFrame, pics_df: pd.DataFrame,
                 target_names, high: float = 0.5, window: int = 100, rc_average: bool = True,
                 seq_len: int | None = None, device="cpu") -> tuple[dict, dict, str]:
    """Figure 5B's data: saturation-mutagenesis maps of the reference and alternative sequence around the
    likely-causal SNP of :func:`basset.pics.top_snp`, for the target it changes most (``top_target``).
    Returns ``(ref_map, alt_map, title)`` for :func:`basset.plots.mutagenesis.fig_satmut` (the central
    ``window`` bp, the SNP marked)."""
    names = list(target_names)
    top, pics = top_snp(sad_table, pics_df, high)
    t = names.index(str(top["top_target"]))
    L = input_length(model, seq_len)
    one = pd.DataFrame({"chrom": [str(top["chrom"])], "pos": [int(top["pos"])], "ref": [str(top["ref"])],
                        "alt": [str(top["alt"])]})
    if isinstance(genome, Genome):
        vs = variant_sequences(genome, one, L)
    else:
        with Genome(genome) as g:
            vs = variant_sequences(g, one, L)
    if not vs.kept[0]:
        raise ValueError(f"the top SNP {top['id']} could not be re-read from the genome ({vs.status[0]})")
    window = min(int(window), L)
    lo = L // 2 - window // 2
    maps = []
    for label, codes in ((f"reference {vs.ref_allele[0]}", vs.ref), (f"alternative {vs.alt_allele[0]}", vs.alt)):
        probs = ism(model, codes, lo, lo + window, rc_average=rc_average, device=device)
        maps.append(satmut_map(probs, codes[0, lo : lo + window], t, start=int(top["pos"]) - (L // 2 - lo),
                               label=f"{label} ({names[t]})", mark=L // 2 - lo))
    title = (f"{top['id']} {top['chrom']}:{int(top['pos'])} {top['ref']}>{top['alt']}, PICS "
             f"{pics:.2f}, SAD in {names[t]} = {top[names[t]]:+.3f}")
    return maps[0], maps[1], title


# --------------------------------------------------------------------------------------- select_pics_variants
def select_pics_variants(pics, *, out: dict, source: str, progress: bool = False, timeout: float = 60) -> dict:
    """Rule select_pics_variants: the records of the SNPs of the PICS table ``pics`` (which has no alleles)
    from the sites VCF ``source`` (dbSNP, 1000 Genomes; a URL or a local file, streamed, never stored whole),
    written as the gzipped VCF ``out["vcf"]`` for score_snps. ``out["summary"]``, when given, gets the counts
    of :func:`basset.pics.select_vcf_records` (records read and kept, PICS SNPs found and not found), which it
    returns."""
    summary = select_vcf_records(source, out["vcf"], read_pics(pics), progress=progress, timeout=timeout)
    if out.get("summary"):
        write_summary(out["summary"], summary)
    return summary
