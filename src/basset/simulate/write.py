"""The files of a simulation and their writers; where they go is declared in :mod:`basset.layout`
(``OUTPUTS``, ``simulated_paths``).

Every writer writes into the simulation's staging folder (:func:`basset.fileio.staging_dir`), which is moved
into place as a whole at the end; gzipped files have no name and mtime 0, so that a seed gives the same bytes.
"""

from __future__ import annotations

import gzip
import io
from pathlib import Path

import numpy as np
import pandas as pd

from ..layout import OUTPUTS, PEAK_SUFFIX, simulated_paths  # noqa: F401 (re-exported)
from .peaks import PEAK_COLUMNS
from .state import N, SimState


def write_gz(path: Path, text: str) -> None:
    """Gzip ``text`` into ``path`` with no file name and mtime 0 (byte-identical across runs)."""
    with open(path, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as gz:
        gz.write(text.encode())


def write_gz_tsv(path: Path, df: pd.DataFrame) -> None:
    """Gzipped TSV without header (:func:`write_gz`)."""
    buf = io.StringIO()
    df.to_csv(buf, sep="\t", header=False, index=False)
    write_gz(path, buf.getvalue())


def write_fasta(state: SimState, tmp: Path) -> None:
    """The genome FASTA (``genome.line_width`` bases a line; repeats soft-masked, lowercase), its samtools index
    and chrom.sizes."""
    genome, width = state.genome, int(state.p["genome"]["line_width"])
    letters = np.frombuffer(b"ACGTN", dtype=np.uint8)
    fai, sizes, offset = [], [], 0
    with open(tmp / OUTPUTS["fasta"], "wb") as fh:
        for c, name in enumerate(genome.chroms):
            L = int(genome.lengths[c])
            head = f">{name}\n".encode()
            fh.write(head)
            offset += len(head)
            fai.append(f"{name}\t{L}\t{offset}\t{width}\t{width + 1}\n")
            sizes.append(f"{name}\t{L}\n")
            s = letters[genome.seq[genome.offsets[c] : genome.offsets[c + 1]]]
            if genome.repeat is not None:  # soft-masked repeats: lowercase, as RepeatMasker's genomes
                s = s + (genome.repeat[genome.offsets[c] : genome.offsets[c + 1]] * 32).astype(np.uint8)
            full = L // width
            body = np.full((full, width + 1), ord("\n"), dtype=np.uint8)
            body[:, :width] = s[: full * width].reshape(full, width)
            data = body.tobytes()
            if L % width:
                data += s[full * width :].tobytes() + b"\n"
            fh.write(data)
            offset += len(data)
    (tmp / OUTPUTS["fai"]).write_text("".join(fai))
    (tmp / OUTPUTS["chrom_sizes"]).write_text("".join(sizes))


def write_bigwig(state: SimState, tmp: Path, cons: np.ndarray) -> None:
    """The conservation track as bigWig, over the runs of non-N bases (N positions have no value)."""
    import pyBigWig

    genome = state.genome
    bw = pyBigWig.open(str(tmp / OUTPUTS["phylop"]), "w")
    bw.addHeader([(n, int(L)) for n, L in zip(genome.chroms, genome.lengths)], maxZooms=4)
    isn = genome.seq == N
    for c, name in enumerate(genome.chroms):
        a, b = genome.offsets[c], genome.offsets[c + 1]
        edge = np.flatnonzero(np.diff(np.concatenate([[True], isn[a:b], [True]]).astype(np.int8)))
        for s, e in zip(edge[0::2], edge[1::2]):  # runs of non-N, a handful per chromosome
            bw.addEntries(name, int(s), values=cons[a + s : a + e].astype(np.float64), span=1, step=1)
    bw.close()


def runs(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(starts, ends, values)`` of the runs of equal non-zero values in ``values (L,)``: a bedGraph's intervals."""
    edge = np.flatnonzero(np.diff(values)) + 1
    starts = np.concatenate([[0], edge])
    ends = np.concatenate([edge, [values.size]])
    keep = values[starts] != 0
    return starts[keep], ends[keep], values[starts[keep]]


def write_coverage(state: SimState, tmp: Path, tracks: dict[str, np.ndarray]) -> dict[str, Path]:
    """Each sample's per-base counts ``tracks[name] (G,)`` as a bigWig of its non-zero runs (bedGraph-like
    intervals, as a coverage bigWig made by deepTools or bedGraphToBigWig) into ``tmp/coverage/<row>.bw``; returns
    sample name -> that file."""
    import pyBigWig

    genome, out = state.genome, {}
    (tmp / "coverage").mkdir(exist_ok=True)
    for i, name in enumerate(state.samples["name"]):
        out[name] = tmp / "coverage" / f"{i}.bw"
        bw = pyBigWig.open(str(out[name]), "w")
        bw.addHeader([(n, int(L)) for n, L in zip(genome.chroms, genome.lengths)], maxZooms=4)
        for c, chrom in enumerate(genome.chroms):
            s, e, v = runs(tracks[name][genome.offsets[c] : genome.offsets[c + 1]])
            if s.size:
                bw.addEntries([chrom] * s.size, s.tolist(), ends=e.tolist(), values=v.astype(np.float64).tolist())
        bw.close()
    return out


def write_gtf(tmp: Path, genes: pd.DataFrame) -> None:
    with open(tmp / OUTPUTS["genes"], "w") as fh:
        fh.write("##description: basset simulated genes (one transcript per gene)\n")
        genes.to_csv(fh, sep="\t", header=False, index=False, quoting=3)


def write_peaks(state: SimState, tmp: Path, peaks: dict[str, pd.DataFrame]) -> dict[str, Path]:
    """Each sample's peaks in its format into ``tmp/peaks/<row>.gz``; returns sample name -> that file."""
    out = {}
    for i, row in enumerate(state.samples.itertuples(index=False)):
        df = peaks[row.name]
        df = df[PEAK_COLUMNS.get(row.format, list(df.columns))]
        out[row.name] = tmp / "peaks" / f"{i}.gz"
        write_gz_tsv(out[row.name], df)
    return out


def truth_sites(state: SimState, site_ids: np.ndarray) -> pd.DataFrame:
    """One row per candidate site: position (``start``, ``end``: the slots, 0-based half-open), class, motifs, pair,
    A-tract, then 0/1 accessibility per cell type (the sheet's rows, or its ``cell`` column when given)."""
    sites = state.sites
    chrom, centre = state.genome.to_chrom(sites.centre)
    span = int(state.p["sites"]["slots"]) * int(state.p["sites"]["slot_bp"])  # the slots start span // 2 before
    frame = pd.DataFrame({
        "site": site_ids,
        "chrom": chrom,
        "start": centre - span // 2,
        "end": centre - span // 2 + span,  # not centre + span // 2: one short when span is odd
        "centre": centre,
        "class": np.array(sites.classes, dtype=object)[sites.cls],
        "n_motifs": np.bincount(state.planted.inst["site"], minlength=sites.centre.size),
        "cooperative": (state.planted.pair >= 0).astype(np.int8),
        "a_tract": sites.a_tract.astype(np.int8),
    })
    acc = pd.DataFrame(state.access.acc.astype(np.int8), columns=state.cells["name"].tolist())
    return pd.concat([frame, acc], axis=1)


def truth_motifs(state: SimState, site_ids: np.ndarray) -> pd.DataFrame:
    """One row per planted motif instance (0-based start, strand, factor, matrix, score, match)."""
    inst, factors = state.planted.inst, state.motifs.factors
    ichrom, istart = state.genome.to_chrom(inst["start"].to_numpy())
    fac = inst["factor"].to_numpy()
    return pd.DataFrame({
        "site": site_ids[inst["site"].to_numpy()],
        "chrom": ichrom,
        "start": istart,
        "end": istart + inst["length"].to_numpy(),
        "strand": np.where(inst["minus"], "-", "+"),
        "factor": np.array(factors, dtype=object)[fac],
        "matrix_id": np.array([state.motifs.records[f]["matrix_id"] for f in factors], dtype=object)[fac],
        "score": np.round(inst["score"].to_numpy(), 4),
        "match": np.round(inst["match"].to_numpy(), 4),
    })


def truth_snps(state: SimState, site_ids: np.ndarray) -> pd.DataFrame:
    """One row per SNP: id, 1-based position, alleles, role, block, site and factor ('.' for none), PICS."""
    s = state.snps
    schrom, spos = state.genome.to_chrom(s["gpos"].to_numpy())
    letters = np.array(list("ACGT"), dtype=object)
    fi = s["factor_i"].to_numpy()
    return pd.DataFrame({
        "id": s["id"],
        "chrom": schrom,
        "pos": spos + 1,
        "ref": letters[s["ref"].to_numpy()],
        "alt": letters[s["alt"].to_numpy()],
        "role": s["role"],
        "block": s["block"],
        "site": np.where(s["site"] >= 0, site_ids[np.maximum(s["site"].to_numpy(), 0)], "."),
        "factor": np.where(fi >= 0, np.array(state.motifs.factors + ["."], dtype=object)[fi], "."),
        "pics": np.round(s["pics"].to_numpy(), 4),
        "annotation": s["annotation"],
    })


def pics_table(snps: pd.DataFrame, sites: pd.DataFrame) -> pd.DataFrame:
    """PICS-like table (Farh et al. 2015 columns, with their Annotation); the disease is named after the causal
    site's class and the index SNP is the middle SNP of the block (a GWAS lead may be any SNP of it)."""
    causal = snps[snps["role"] != "bystander"].set_index("block")
    cls_of_site = dict(zip(sites["site"], sites["class"]))
    disease = {b: f"Simulated_{cls_of_site.get(r.site, 'intergenic')}_trait" for b, r in causal.iterrows()}
    grp = snps.groupby("block")
    mid = snps[grp.cumcount().to_numpy() == grp["id"].transform("size").to_numpy() // 2]
    index_snp = mid.set_index("block")
    return pd.DataFrame({
        "Disease": snps["block"].map(disease),
        "IndexSNP_riskAllele": snps["block"].map(index_snp["id"] + "-" + index_snp["alt"]),
        "SNP": snps["id"],
        "chr": snps["chrom"],
        "pos": snps["pos"],
        "PICS_probability": snps["pics"],
        "Annotation": snps["annotation"],
        "block": snps["block"],
    }).sort_values(["block", "pos"], kind="stable").drop(columns="block")


def vcf_text(state: SimState, snps: pd.DataFrame) -> str:
    """The SNPs as VCF 4.2 text (INFO: BLOCK, ROLE, PICS)."""
    header = ["##fileformat=VCFv4.2", "##source=basset.simulate"]
    header += [f"##contig=<ID={c},length={int(L)}>" for c, L in zip(state.genome.chroms, state.genome.lengths)]
    header += [
        '##INFO=<ID=BLOCK,Number=1,Type=Integer,Description="Simulated LD block">',
        '##INFO=<ID=ROLE,Number=1,Type=String,Description="causal_break, causal_create, causal_outside_site or '
        'bystander">',
        '##INFO=<ID=PICS,Number=1,Type=Float,Description="Simulated PICS probability">',
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO",
    ]
    vcf = pd.DataFrame({
        "chrom": snps["chrom"], "pos": snps["pos"], "id": snps["id"], "ref": snps["ref"], "alt": snps["alt"],
        "qual": ".", "filter": "PASS",
        "info": "BLOCK=" + snps["block"].astype(str) + ";ROLE=" + snps["role"] + ";PICS=" + snps["pics"].astype(str),
    })
    buf = io.StringIO()
    buf.write("\n".join(header) + "\n")
    vcf.to_csv(buf, sep="\t", header=False, index=False)
    return buf.getvalue()


def write_truth(state: SimState, tmp: Path) -> dict:
    """Truth tables and variants; returns ``{table: [columns]}`` for the summary."""
    site_ids = np.array([f"site{i:06d}" for i in range(1, state.sites.centre.size + 1)], dtype=object)
    sites = truth_sites(state, site_ids)
    sites.to_csv(tmp / OUTPUTS["sites"], sep="\t", index=False)
    motifs = truth_motifs(state, site_ids)
    motifs.to_csv(tmp / OUTPUTS["motif_instances"], sep="\t", index=False)
    state.access.act.round(6).to_csv(tmp / OUTPUTS["cell_activity"], sep="\t")
    snps = truth_snps(state, site_ids)
    snps.to_csv(tmp / OUTPUTS["snps"], sep="\t", index=False)
    pics_table(snps, sites).to_csv(tmp / OUTPUTS["pics"], sep="\t", index=False)
    write_gz(tmp / OUTPUTS["vcf"], vcf_text(state, snps))
    return {"sites": list(sites.columns), "motif_instances": list(motifs.columns), "snps": list(snps.columns)}
