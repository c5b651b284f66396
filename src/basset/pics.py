"""PICS fine-mapping (Farh et al. 2015): the table (:func:`read_pics`), the alleles of its SNPs taken from a
sites VCF (:func:`select_vcf_records`), and whether likely-causal SNPs change predicted accessibility more than
unlikely ones (:func:`enrichment`, Figure 5A; :func:`top_snp`, the SNP of Figure 5B).

* **Table** (:func:`read_pics`): Farh et al. 2015 supplementary table 1 layout (``Disease``,
  ``IndexSNP_riskAllele``, ``SNP``, ``chr``, ``pos``, ``PICS_probability``, ...; hg19, 1-based ``pos`` like the
  VCF). A SNP listed for several diseases keeps its **maximum** PICS probability (and that row's disease;
  ``n_diseases`` counts them). The published table is an Excel .xls (read with xlrd); tab-separated text works
  alike, the format being decided by content.
* **Coding LD sets** (:func:`read_pics` with ``coding``): as the paper, every LD set (the SNPs of one index SNP
  for one disease: ``Disease`` + ``IndexSNP_riskAllele``) that holds a protein-coding SNP (the ``Annotation``
  column: missense, nonsense, synonymous, ...) is removed whole before the SNPs are compared, since a coding
  SNP may explain the association without any change in accessibility. Kelley et al. went from 8,741 to 7,252
  SNPs this way.
* **Alleles for PICS SNPs** (:func:`select_vcf_records`): the PICS table has no alleles; the records of its
  SNPs (by rsID, or by chrom + pos with ``chr1``/``1`` mapped by :func:`basset.sequence.chrom_key`) are
  streamed out of a sites VCF (dbSNP, 1000 Genomes; gzip, bgzip or plain, from a URL or a file, never stored
  whole, :func:`basset.vcf.vcf_lines`) into a small gzipped VCF.
* **Enrichment** (:func:`enrichment`): each SNP's score is its SAD mean over targets in absolute value
  (``score="abs_mean"``, the default; ``"mean_abs"`` averages ``|SAD|``, ``"max_abs"`` takes the largest
  ``|SAD|``, i.e. the most affected cell type); several ALT alleles of one SNP keep the largest score. SNPs are
  joined to PICS by ID, falling back to chrom + pos. The tests are scipy's (Mann-Whitney U, Fisher's exact).
  Beside them, as the paper reports it ("more than 7x"), the ratio of the fractions of likely and unlikely
  causal SNPs above the SAD threshold, with a percentile bootstrap confidence interval
  (:func:`fraction_ratio`; each group resampled on its own).

The selection is our own loop over the lines rather than bcftools or tabix: those need htslib and, for a
region query, an index, while the SNPs are known by rsID as often as by position and the source may be a URL
read once.
"""

from __future__ import annotations

import importlib.util
import logging
import warnings
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import InputError
from .fileio import atomic_open, compression, read_errors
from .sadfile import sad_target_columns
from .sequence import chrom_key
from .vcf import vcf_lines

log = logging.getLogger("basset.pics")

_PICS_REQUIRED = {"SNP": "snp", "chr": "chrom", "pos": "pos", "PICS_probability": "pics"}
#: Annotation values (any case) of a protein-coding SNP, whose LD sets the paper removed
CODING_ANNOTATIONS = ("missense", "nonsense", "synonymous", "frameshift", "stop_gained", "stop_lost",
                      "start_lost", "inframe_insertion", "inframe_deletion", "coding")


#: first bytes of an Excel 97-2003 workbook (.xls, an OLE2 compound document) and of a zip (.xlsx)
OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = b"PK\x03\x04"
#: workbook kind -> (pandas engine, what it is)
_WORKBOOKS = {"xls": ("xlrd", "Excel 97-2003 workbook (.xls)"), "xlsx": ("openpyxl", "Excel 2007+ workbook (.xlsx)")}
_HEADER_SEARCH_ROWS = 20  # a published sheet may carry a title or caption above its header row


def _workbook_kind(path: Path) -> str | None:
    """``"xls"`` or ``"xlsx"`` when the file starts with their magic bytes, ``None`` for text (name ignored)."""
    with open(path, "rb") as fh:
        head = fh.read(len(OLE2_MAGIC))
    if head == OLE2_MAGIC:
        return "xls"
    if head.startswith(ZIP_MAGIC):
        return "xlsx"
    return None


def _header_row(grid: pd.DataFrame) -> int:
    """0-based index of the first of the top rows that holds every required PICS column name (0 if none)."""
    wanted = {name.lower() for name in _PICS_REQUIRED}
    for i in range(min(len(grid), _HEADER_SEARCH_ROWS)):
        if wanted <= {str(cell).strip().lower() for cell in grid.iloc[i]}:
            return i
    return 0


def _read_workbook(path: Path, kind: str) -> tuple[pd.DataFrame, int, np.ndarray]:
    """First sheet of a workbook as strings from its header row on, blank rows dropped; with the header's and
    each row's spreadsheet row number (1-based)."""
    engine, what = _WORKBOOKS[kind]
    if importlib.util.find_spec(engine) is None:
        raise InputError(path, f"the file is an {what} (by its content); reading it needs the {engine} package, "
                               f"which is not installed: install {engine} or convert the sheet to tab-separated "
                               "text (.tsv)")
    try:
        with warnings.catch_warnings():  # pandas 3 deprecates its xlrd engine; it is still the .xls reader here
            warnings.filterwarnings("ignore", message="The xlrd engine is deprecated")
            grid = pd.read_excel(path, sheet_name=0, header=None, dtype=str, keep_default_na=False, engine=engine)
    except Exception as exc:  # noqa: BLE001 - the engines raise many types for a bad workbook
        raise InputError(path, f"not a readable {what} ({type(exc).__name__}: {exc}); convert it to "
                               "tab-separated text (.tsv)") from None
    if grid.empty:
        raise InputError(path, f"the first sheet of the {what} is empty: expected a PICS table", line=1)
    header = _header_row(grid)
    table = grid.iloc[header + 1 :]
    table = table.loc[table.astype(str).apply(lambda col: col.str.strip()).ne("").any(axis=1)]
    lines = table.index.to_numpy() + 1
    table = table.reset_index(drop=True)
    table.columns = [str(cell).strip() for cell in grid.iloc[header]]
    return table, header + 1, lines


def _read_table(path: Path) -> tuple[pd.DataFrame, int, np.ndarray]:
    """A PICS table as strings: a workbook (.xls or .xlsx, decided by content) or tab-separated text, plain or
    gzipped; with the line (spreadsheet row) of the header and of each row, 1-based."""
    kind = _workbook_kind(path)
    if kind is not None:
        return _read_workbook(path, kind)
    with read_errors(path, "PICS table"):
        try:
            table = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False, compression=compression(path))
        except pd.errors.EmptyDataError:
            raise InputError(path, "empty file: expected a PICS table with a header", line=1) from None
    return table, 1, np.arange(len(table)) + 2


def read_pics(path: str | Path, coding=None) -> pd.DataFrame:
    """PICS fine-mapping table (Farh et al. 2015 supplementary table 1 layout) -> DataFrame ``snp, chrom,
    pos (1-based), pics, disease, n_diseases``, one row per SNP (its maximum PICS probability over diseases,
    with that row's disease), in file order.

    ``coding``: Annotation values (e.g. :data:`CODING_ANNOTATIONS`) whose LD sets are removed whole, as the
    paper did; an LD set is the rows of one ``Disease`` and ``IndexSNP_riskAllele`` (without that column,
    each SNP is its own set). A SNP of a removed set stays when another disease's set of it is kept.
    ``None`` or empty: no filter. When the filter ran, its counts are in ``df.attrs["coding_filter"]``
    (``ld_sets``, ``ld_sets_coding``, ``rows_dropped``, ``snps_before``, ``snps_dropped``); a table without an
    Annotation column is kept whole, with a warning, and has no counts.

    The format is decided by content, never by the name: the published Excel 97-2003 workbook (.xls, OLE2
    magic bytes; read with xlrd), an Excel 2007+ workbook (.xlsx, zip magic; needs openpyxl), or tab-separated
    text, plain or gzipped. A workbook is read from its first sheet; its header is the first of the top 20 rows
    that names the required columns (a title above it is skipped), and error lines are spreadsheet rows.

    Required columns (any case): SNP, chr, pos, PICS_probability; Disease is optional.
    """
    path = Path(path)
    raw, header_line, line = _read_table(path)
    by_lower = {str(c).strip().lower(): c for c in raw.columns}
    missing = [c for c in _PICS_REQUIRED if c.lower() not in by_lower]
    if missing:
        raise InputError(path, f"missing column(s) {', '.join(missing)}: expected a PICS table with columns "
                         f"{', '.join(_PICS_REQUIRED)} (and optionally Disease), as Farh et al. 2015 table S1; "
                         f"got {', '.join(map(str, raw.columns[:8]))}", line=header_line)
    df = pd.DataFrame({new: raw[by_lower[old.lower()]].astype(str).str.strip() for old, new in _PICS_REQUIRED.items()})
    df["disease"] = raw[by_lower["disease"]].astype(str) if "disease" in by_lower else ""
    pos = pd.to_numeric(df["pos"], errors="coerce")
    bad = (pos.isna() | (pos < 1) | (pos != np.floor(pos))).to_numpy()
    if bad.any():
        i = int(np.argmax(bad))
        raise InputError(path, f"expected a 1-based integer pos, got {df['pos'].iloc[i]!r}", line=int(line[i]))
    pics = pd.to_numeric(df["pics"], errors="coerce")
    bad = (pics.isna() | (pics < 0) | (pics > 1)).to_numpy()
    if bad.any():
        i = int(np.argmax(bad))
        raise InputError(path, f"expected a PICS_probability in [0, 1], got {df['pics'].iloc[i]!r}",
                         line=int(line[i]))
    df["pos"] = pos.astype(np.int64)
    df["pics"] = pics.astype(np.float64)
    df, counts = _drop_coding_ld_sets(df, raw, by_lower, coding, path)
    df["n_diseases"] = df.groupby("snp")["disease"].transform("nunique").astype(np.int64)
    df["order"] = df.groupby("snp", sort=False).ngroup()
    best = df.sort_values(["order", "pics"], ascending=[True, False], kind="stable").drop_duplicates("snp")
    out = best.drop(columns="order").reset_index(drop=True)[["snp", "chrom", "pos", "pics", "disease", "n_diseases"]]
    if counts is not None:
        out.attrs["coding_filter"] = counts
    return out


def _drop_coding_ld_sets(df: pd.DataFrame, raw: pd.DataFrame, by_lower: dict, coding, path: Path):
    """``df`` (one row per table row) without the rows of every LD set holding a SNP annotated as one of
    ``coding``; and the counts of :func:`read_pics` (None when no filter ran: no ``coding``, or no Annotation
    column)."""
    if not coding:
        return df, None
    snps_before = int(df["snp"].nunique())
    if "annotation" not in by_lower:
        log.warning("%s: no Annotation column, so no LD set with a protein-coding SNP can be removed (as the paper "
                    "did); all %d SNPs are kept", path, snps_before)
        return df, None
    index_col = by_lower.get("indexsnp_riskallele")
    ld = df["disease"] + "\t" + (raw[index_col].astype(str).str.strip() if index_col else df["snp"])
    wanted = {str(c).strip().lower() for c in coding}
    is_coding = raw[by_lower["annotation"]].astype(str).str.strip().str.lower().isin(wanted).to_numpy()
    drop = ld.isin(set(ld[is_coding])).to_numpy()
    kept = df[~drop]
    counts = {"snps_before": snps_before, "ld_sets": int(ld.nunique()), "ld_sets_coding": int(ld[is_coding].nunique()),
              "rows_dropped": int(drop.sum()), "snps_dropped": snps_before - int(kept["snp"].nunique())}
    log.info("%s: %d of %d LD sets hold a protein-coding SNP (%s) and were removed: %d rows, %d of %d SNPs",
             path, counts["ld_sets_coding"], counts["ld_sets"], ", ".join(sorted(wanted)), counts["rows_dropped"],
             counts["snps_dropped"], counts["snps_before"])
    return kept, counts



# --------------------------------------------------------------------------------------------- allele source
def select_vcf_records(source: str | Path, out_path: str | Path, snps: pd.DataFrame, progress: bool = False,
                       timeout: float = 60) -> dict:
    """Stream a VCF and keep the records of the given SNPs: the allele source for a PICS table, which has
    none.

    The source is read once and never stored whole (:func:`basset.vcf.vcf_lines`): a multi-GB dbSNP or
    1000 Genomes sites file costs the memory of one block. A record is kept when one of its IDs
    (``ID`` column, ``;``-separated) is a SNP name of ``snps``, or when its ``(CHROM, POS)`` is a SNP's
    ``(chrom, pos)``; chromosome names are compared with and without the ``chr`` prefix (and ``chrM`` as
    ``MT``). Kept records are written unchanged, after the source's ``#`` header lines, in source order.

    Parameters
    ----------
    source : str or Path
        Local path or ``http``, ``https``, ``ftp`` or ``file`` URL of a VCF: plain, gzipped or bgzipped
        (decided by content, never by the name).
    out_path : str or Path
        Output VCF, gzipped (level 6, no timestamp), written atomically (:func:`basset.fileio.atomic_open`).
    snps : pandas.DataFrame
        Columns ``snp`` (rsID or other name), ``chrom`` and ``pos`` (1-based, as in the VCF), e.g. from
        :func:`read_pics`.
    progress : bool
        Show a progress bar of the bytes read.
    timeout : float
        Seconds allowed for connecting and for each read of a URL.

    Returns
    -------
    dict
        ``source``; ``bytes_read`` (bytes as transferred, compressed or not); ``header_lines``;
        ``records_read`` and ``records_kept`` (VCF records); ``pics_snps`` (distinct SNP names of ``snps``),
        ``pics_found`` (those with a kept record), ``pics_found_by_id``, ``pics_found_by_position_only``,
        ``pics_not_found``; ``chrom_names_mapped`` (whether the ``chr`` prefix differed between the two).

    Raises
    ------
    InputError
        A local source that cannot be read, corrupt or truncated gzip data, or a record with fewer than the
        5 tab-separated columns CHROM POS ID REF ALT (naming the line).
    DownloadError
        A URL that is malformed, cannot be opened, or whose body ends early.
    """
    source = str(source)
    missing = [c for c in ("snp", "chrom", "pos") if c not in snps.columns]
    if missing:
        raise ValueError(f"snps lacks the column(s) {', '.join(missing)}: expected snp, chrom, pos (read_pics)")
    wanted = _Wanted(snps)
    counts: Counter = Counter()
    with vcf_lines(source, timeout, progress, counts, "selecting PICS variants") as lines, \
            atomic_open(out_path, "wb", gzip_level=6) as out:
        log.info("selecting the records of %d SNPs from %s", len(wanted.ids), source)
        _copy_matching(lines, out, source, wanted, counts)
    summary = {"source": source, **{k: int(counts[k]) for k in ("bytes_read", "header_lines", "records_read",
                                                                 "records_kept")}, **wanted.summary(source)}
    log.info("kept %d of %d records; wrote %s", summary["records_kept"], summary["records_read"], out_path)
    return summary


class _Wanted:
    """The SNPs to select: IDs as the bytes a VCF line holds, and ``(chromosome key, POS bytes)`` pairs; records
    which were found."""

    def __init__(self, snps: pd.DataFrame):
        self.names = snps["snp"].astype(str).str.strip().tolist()
        self.chroms = snps["chrom"].astype(str).str.strip().tolist()
        self.keys = [(chrom_key(c), str(int(p)).encode()) for c, p in zip(self.chroms, snps["pos"])]
        self.ids = {n.encode() for n in self.names if n not in ("", ".")}
        self.positions = set(self.keys)
        self.found_ids: set[bytes] = set()
        self.found_positions: set[tuple[bytes, bytes]] = set()
        self.vcf_chroms: dict[bytes, str] = {}  # VCF chromosome name -> key: few names, each mapped once

    def summary(self, source: str) -> dict:
        """Counts of distinct SNP names found by ID, by position only, and not found (the latter logged)."""
        per_snp = pd.DataFrame({
            "snp": self.names,
            "id": [n.encode() in self.found_ids for n in self.names],
            "pos": [k in self.found_positions for k in self.keys],
        }).groupby("snp", sort=False).any()
        found = per_snp["id"] | per_snp["pos"]
        vcf_chr = any(name[:3].lower() == b"chr" for name in self.vcf_chroms)
        pics_chr = any(name[:3].lower() == "chr" for name in self.chroms)
        mapped = bool(self.vcf_chroms) and bool(self.chroms) and vcf_chr != pics_chr
        if mapped:
            log.info("chromosome names differ by the 'chr' prefix (VCF %s it, PICS %s it); compared without it",
                     "with" if vcf_chr else "without", "with" if pics_chr else "without")
        if not found.all():
            log.warning("%d of %d PICS SNPs have no record in %s (e.g. %s)", int((~found).sum()), len(per_snp),
                        source, ", ".join(per_snp.index[~found.to_numpy()][:5]))
        return {"pics_snps": len(per_snp), "pics_found": int(found.sum()), "pics_found_by_id": int(per_snp["id"].sum()),
                "pics_found_by_position_only": int((per_snp["pos"] & ~per_snp["id"]).sum()),
                "pics_not_found": int((~found).sum()), "chrom_names_mapped": mapped}


def _copy_matching(lines: Iterator[bytes], out, source: str, wanted: _Wanted, counts: Counter) -> None:
    """Write the header lines (``#``, before the first record) and the wanted records (by any of their
    ``;``-separated IDs, or by position) to the binary ``out``, noting the hits in ``wanted``; counts
    ``header_lines``, ``records_read`` and ``records_kept``."""
    # the hot loop of a multi-GB file (hundreds of millions of lines): locals only, no call per line
    ids, positions, chrom_keys = wanted.ids, wanted.positions, wanted.vcf_chroms
    found_ids, found_positions = wanted.found_ids, wanted.found_positions
    write = out.write
    header = read = kept = 0
    for lineno, line in enumerate(lines, 1):
        if line[:1] == b"#":
            if not read:
                write(line.rstrip(b"\r") + b"\n")
                header += 1
            continue
        fields = line.split(b"\t", 5)  # a CR of CRLF stays in the last field, which is not compared
        if len(fields) < 5:
            if not line.strip():
                continue
            raise InputError(source, f"expected a VCF record with at least 5 tab-separated columns (CHROM POS ID "
                                     f"REF ALT), got {len(fields)}", line=lineno, record=line[:200].decode("latin-1"))
        read += 1
        chrom, pos, record_id = fields[0], fields[1], fields[2]
        key = chrom_keys.get(chrom)
        if key is None:
            key = chrom_keys[chrom] = chrom_key(chrom.decode("latin-1"))
        hit = (key, pos) in positions
        if hit:
            found_positions.add((key, pos))
        if record_id in ids:
            found_ids.add(record_id)
            hit = True
        elif b";" in record_id:
            for rs in record_id.split(b";"):
                if rs in ids:
                    found_ids.add(rs)
                    hit = True
        if hit:
            write(line.rstrip(b"\r") + b"\n")
            kept += 1
    counts.update(header_lines=header, records_read=read, records_kept=kept)


# --------------------------------------------------------------------------------------------- enrichment
#: per-SNP scores of :func:`sad_scores`
SCORES = ("abs_mean", "mean_abs", "max_abs")


def sad_scores(sad_table: pd.DataFrame, score: str = "abs_mean") -> pd.Series:
    """Per-row variant score over targets: ``"abs_mean"`` ``|mean SAD|`` (the SAD mean, Basset's summary of
    a SNP), ``"mean_abs"`` mean of ``|SAD|``, ``"max_abs"`` max of ``|SAD|`` (any cell type). ``abs_mean`` and
    ``max_abs`` read the table's ``mean_sad`` and ``max_abs_sad`` columns when it has them (computed before the SAD
    was rounded to float16; the summary TSV has no per-target columns), ``mean_abs`` needs the targets."""
    if score not in SCORES:
        raise ValueError(f"score must be one of {', '.join(SCORES)}, got {score!r}")
    column = {"abs_mean": "mean_sad", "max_abs": "max_abs_sad"}.get(score)
    if column in sad_table.columns:
        return pd.Series(np.abs(sad_table[column].to_numpy(dtype=np.float64)), index=sad_table.index)
    cols = sad_target_columns(sad_table)
    if not cols:
        raise ValueError(f"the SAD table has no per-target columns (score {score!r} needs them)")
    values = sad_table[cols].to_numpy(dtype=np.float64)
    if score == "abs_mean":
        return pd.Series(np.abs(values.mean(axis=1)), index=sad_table.index)
    if score == "mean_abs":
        return pd.Series(np.abs(values).mean(axis=1), index=sad_table.index)
    return pd.Series(np.abs(values).max(axis=1), index=sad_table.index)


def join_pics(sad_table: pd.DataFrame, pics_df: pd.DataFrame, score: str = "abs_mean") -> pd.DataFrame:
    """PICS SNPs with their SAD score: ``pics_df`` columns + ``score`` (NaN when unscored) and
    ``matched_by`` (``id``, ``chrom_pos`` or ``""``). Several rows of one SNP (ALT alleles) keep the max."""
    s = sad_table.assign(_score=sad_scores(sad_table, score).to_numpy())
    by_id = s.loc[s["id"].astype(str) != "."].groupby(s["id"].astype(str))["_score"].max()
    by_pos = s.groupby([s["chrom"].astype(str), s["pos"].astype(np.int64)])["_score"].max()
    out = pics_df.copy()
    sc = out["snp"].astype(str).map(by_id)
    matched = np.where(sc.notna(), "id", "")
    key = pd.MultiIndex.from_arrays([out["chrom"].astype(str), out["pos"].astype(np.int64)])
    sc_pos = pd.Series(by_pos.reindex(key).to_numpy(), index=out.index)
    fill = sc.isna() & sc_pos.notna()
    sc = sc.where(~fill, sc_pos)
    matched = np.where(fill.to_numpy(), "chrom_pos", matched)
    out["score"] = sc.to_numpy(dtype=np.float64)
    out["matched_by"] = matched
    return out


def fraction_ratio(high_above, low_above, n_boot: int = 10000, level: float = 0.95,
                   seed: int = 0) -> tuple[float, float, float]:
    """The ratio of two fractions, ``mean(high_above) / mean(low_above)`` (booleans: a SNP above the SAD
    threshold), and its percentile bootstrap interval at ``level``: each group is resampled with replacement
    on its own (its count above is then binomial), ``n_boot`` times with ``seed``. A resample whose low
    fraction is 0 has an infinite ratio, so an interval may end at ``inf``; NaN when a group is empty or both
    fractions are 0."""
    hi, lo = np.asarray(high_above, dtype=bool), np.asarray(low_above, dtype=bool)
    nan = float("nan")
    if not hi.size or not lo.size or not (hi.any() or lo.any()):
        return nan, nan, nan
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = float(np.float64(hi.mean()) / np.float64(lo.mean()))
        rng = np.random.default_rng(seed)
        fh = rng.binomial(hi.size, hi.mean(), n_boot) / hi.size
        fl = rng.binomial(lo.size, lo.mean(), n_boot) / lo.size
        boot = fh / fl
    boot = np.where(np.isnan(boot), 0.0, boot)  # 0/0: neither group above in this resample
    tail = (1 - level) / 2
    ci = np.quantile(boot, [tail, 1 - tail], method="inverted_cdf")  # no interpolation towards inf
    return ratio, float(ci[0]), float(ci[1])


def enrichment(sad_table: pd.DataFrame, pics_df: pd.DataFrame, high: float = 0.5, low: float = 0.05,
               sad_threshold: float = 0.1, score: str = "abs_mean", n_boot: int = 10000, seed: int = 0) -> dict:
    """Do likely-causal SNPs (PICS >= ``high``) change predicted accessibility more than unlikely ones
    (PICS <= ``low``)?

    Per-SNP score as :func:`sad_scores` (default ``|mean SAD|``). Returns a dict:
    n_pics, n_matched, n_high, n_low, frac_high / frac_low (fraction with score > ``sad_threshold``),
    frac_high_any / frac_low_any (fraction with ``|SAD| > sad_threshold`` in some target; unless the score
    is already ``max_abs``),
    mean_high / mean_low and median_high / median_low of the score, mannwhitney_u and mannwhitney_p
    (one-sided, high > low; scipy.stats.mannwhitneyu), fisher_odds_ratio and fisher_p (one-sided Fisher's
    exact test of the above-threshold fractions), ratio with ratio_ci_low / ratio_ci_high (frac_high /
    frac_low, 95 % bootstrap interval of :func:`fraction_ratio` with ``n_boot`` and ``seed``; ``ratio_any`` and its
    interval for the ``*_any`` fractions), the coding
    filter's counts when ``pics_df`` came from :func:`read_pics` with one (``coding_*``), and the settings.
    Statistics are NaN when a group is empty.
    """
    from scipy import stats

    j = join_pics(sad_table, pics_df, score)
    j = j[j["score"].notna()]
    hi = j.loc[j["pics"] >= high, "score"].to_numpy(dtype=np.float64)
    lo = j.loc[j["pics"] <= low, "score"].to_numpy(dtype=np.float64)
    nan = float("nan")
    res = {
        "score": score, "high": float(high), "low": float(low), "sad_threshold": float(sad_threshold),
        "n_pics": len(pics_df), "n_matched": len(j), "n_high": int(hi.size), "n_low": int(lo.size),
        "frac_high": float((hi > sad_threshold).mean()) if hi.size else nan,
        "frac_low": float((lo > sad_threshold).mean()) if lo.size else nan,
        "mean_high": float(hi.mean()) if hi.size else nan, "mean_low": float(lo.mean()) if lo.size else nan,
        "median_high": float(np.median(hi)) if hi.size else nan,
        "median_low": float(np.median(lo)) if lo.size else nan,
        "mannwhitney_u": nan, "mannwhitney_p": nan, "fisher_odds_ratio": nan, "fisher_p": nan,
    }
    if hi.size and lo.size:
        mw = stats.mannwhitneyu(hi, lo, alternative="greater")
        res["mannwhitney_u"], res["mannwhitney_p"] = float(mw.statistic), float(mw.pvalue)
        a, b = int((hi > sad_threshold).sum()), int((hi <= sad_threshold).sum())
        c, d = int((lo > sad_threshold).sum()), int((lo <= sad_threshold).sum())
        fe = stats.fisher_exact([[a, b], [c, d]], alternative="greater")
        res["fisher_odds_ratio"], res["fisher_p"] = float(fe.statistic), float(fe.pvalue)
    res["ratio"], res["ratio_ci_low"], res["ratio_ci_high"] = fraction_ratio(hi > sad_threshold, lo > sad_threshold,
                                                                          n_boot=n_boot, seed=seed)
    res["n_boot"] = int(n_boot)
    coding = pics_df.attrs.get("coding_filter")
    if coding:
        res.update({f"coding_{k}": v for k, v in coding.items()})
    # beside the configured score: the fraction changing some cell type (max |SAD|) above the threshold,
    # since causal SNPs often act in a few cell types only and a mean over all of them dilutes that
    if score != "max_abs":
        m = join_pics(sad_table, pics_df, "max_abs")
        m = m[m["score"].notna()]
        mh, ml = m.loc[m["pics"] >= high, "score"], m.loc[m["pics"] <= low, "score"]
        res["frac_high_any"] = float((mh > sad_threshold).mean()) if len(mh) else nan
        res["frac_low_any"] = float((ml > sad_threshold).mean()) if len(ml) else nan
        res["ratio_any"], res["ratio_any_ci_low"], res["ratio_any_ci_high"] = fraction_ratio(
            mh.to_numpy() > sad_threshold, ml.to_numpy() > sad_threshold, n_boot=n_boot, seed=seed)
    log.info("PICS enrichment (%s): %d high-PICS (>= %g) vs %d low-PICS (<= %g) SNPs of %d; fraction > %g: "
             "%.3f vs %.3f (ratio %.3g, 95%% CI %.3g-%.3g); Mann-Whitney p = %.3g, Fisher p = %.3g", score,
             res["n_high"], high, res["n_low"], low, res["n_pics"], sad_threshold, res["frac_high"], res["frac_low"],
             res["ratio"], res["ratio_ci_low"], res["ratio_ci_high"], res["mannwhitney_p"], res["fisher_p"])
    return res


def top_snp(sad_table: pd.DataFrame, pics_df: pd.DataFrame, high: float = 0.5) -> tuple[pd.Series, float]:
    """Figure 5B's SNP: the row of ``sad_table`` with the largest ``max_abs_sad`` among the likely-causal SNPs
    (PICS >= ``high``; all scored PICS SNPs when none is), and its PICS probability (NaN when its ID is not a
    PICS SNP name, the row being matched by position)."""
    j = join_pics(sad_table, pics_df)
    cand = j[j["score"].notna() & (j["pics"] >= high)]
    if cand.empty:
        cand = j[j["score"].notna()]
    if cand.empty:
        raise ValueError("no PICS SNP has a SAD score: nothing to draw")
    s = sad_table.assign(_id=sad_table["id"].astype(str), _key=sad_table["chrom"].astype(str) + ":" +
                         sad_table["pos"].astype(str))
    keys = set(cand["snp"].astype(str)) | set(cand["chrom"].astype(str) + ":" + cand["pos"].astype(str))
    rows = s[s["_id"].isin(keys) | s["_key"].isin(keys)]
    top = rows.loc[rows["max_abs_sad"].idxmax()]
    pics_of = dict(zip(cand["snp"].astype(str), cand["pics"]))
    return top, pics_of.get(str(top["id"]), float("nan"))
