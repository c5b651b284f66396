"""Tests of basset.simulate: every truth file, read back with plain readers (bytes, csv, gzip, pandas;
pyBigWig for the bigWig), equals the simulation's in-memory state (the SimState, the conservation track, the
genome right before and after planting, the peak frames) row by row; hand-built states check the coordinate
conventions at chromosome boundaries (0-based half-open BED, 1-based VCF) and hypothesis properties the
planting and the FASTA writer; plus the model's properties, reproducibility and the stage
basset.stages.simulate.simulate_genome."""

from __future__ import annotations

import gzip
import hashlib
import json
import tempfile
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import basset.simulate.run as simrun
from basset.errors import BassetError, ConfigError
from basset.jaspar import load_motifs
from basset.sequence import reverse_complement
from basset.simulate import (
    OUTPUTS,
    pwm_tables,
    simulate,
    simulate_params,
    simulated_paths,
)
from basset.simulate.peaks import PEAK_COLUMNS
from basset.simulate.sites import sample_instances, score_instances
from basset.simulate.state import Access, Genome, Motifs, Planted, SimState, Sites
from basset.simulate.write import (
    truth_motifs,
    truth_sites,
    write_bigwig,
    write_fasta,
    write_peaks,
    write_truth,
)
from basset.stages.simulate import simulate_genome

ROOT = Path(__file__).resolve().parents[1]
PARAMS = {"genome": {"size": 1_500_000, "chromosomes": 2}, "variants": {"blocks_per_mb": 10}}
GROUPS = {"ery": "erythroid", "mye": "myeloid", "hep": "hepatocyte"}
#: the defaults of every simulation parameter: the schema's
DEFAULTS = simulate_params(None)
#: a small simulation at the edges of the parameters: an odd core (3 slots of 151 bp, wider than the 200 bp that
#: bystanders once kept from site centres), CpG islands wider than the distance kept between sites and gaps, an odd
#: FASTA line width, a cooperative pair with no bp between its motifs on every erythroid site, and no active factor
#: in any cell (every activity 0)
EDGE_PARAMS = {
    "genome": {"size": 240_000, "chromosomes": 2, "line_width": 7, "gap_fraction": 0.03, "cpg_island_bp": 2000},
    "programs": {"erythroid": ["GATA1", "KLF1"], "quiet": ["SPI1"]},
    "cooperative": [{"program": "erythroid", "first": "GATA1", "second": "KLF1", "spacing": 0, "prob": 1.0,
                     "weight": 1.0}],
    "sites": {"slots": 3, "slot_bp": 151, "promoter": 0.5},
    "accessibility": {k: [0.0, 0.0] for k in ("lineage_activity", "other_activity", "constitutive_activity",
                                              "promoter_activity")},
    "variants": {"blocks_per_mb": 25, "create": 0.4, "outside": 0.2},
}
EDGE_SAMPLES = {"ery_1": ("erythroid", "bed"), "ery_2": ("erythroid", "hotspot"), "quiet_1": ("quiet", "narrowPeak")}
SNP_COLUMNS = ["id", "chrom", "pos", "ref", "alt", "role", "block", "site", "factor", "pics", "annotation"]
MOTIF_COLUMNS = ["site", "chrom", "start", "end", "strand", "factor", "matrix_id", "score", "match"]

#: plain FASTA decoding: upper-case A, C, G, T, N -> 0-4, anything else 255 (so that it fails every comparison)
LUT = np.full(256, 255, dtype=np.uint8)
for _i, _b in enumerate(b"ACGTN"):
    LUT[_b] = _i
    LUT[_b + 32] = _i  # soft-masked (lowercase) repeats


def make_samples(root: Path, cells: dict | None = None) -> pd.DataFrame:
    if cells is None:
        cells = {f"{prefix}_{i}": (group, "hotspot" if f"{prefix}_{i}" == "mye_2" else "narrowPeak")
                 for prefix, group in GROUPS.items() for i in (1, 2)}
    rows = [{"name": name, "peaks": str(root / "peaks" / f"{name}.{fmt}.gz"), "group": group, "format": fmt}
            for name, (group, fmt) in cells.items()]
    return pd.DataFrame(rows).set_index("name", drop=False)


def simulate_captured(root: Path, samples: pd.DataFrame, params: dict, seed: int) -> dict:
    """:func:`simulate` with its in-memory state kept: the SimState (``state``), the conservation track
    (``cons``), the genome right before and right after planting, each cell's peak frame and false peak count."""
    cap = {}
    run_stages, plant_motifs, make_peaks = simrun.run_stages, simrun.plant_motifs, simrun.make_peaks

    def stages(state, step):
        cap["state"] = state
        cap["cons"] = run_stages(state, step)
        return cap["cons"]

    def plant(state):
        cap["before_planting"] = state.genome.seq.copy()
        planted = plant_motifs(state)
        cap["after_planting"] = state.genome.seq.copy()
        return planted

    def peaks(state):
        cap["peaks"], cap["n_false"] = make_peaks(state)
        return cap["peaks"], cap["n_false"]

    with pytest.MonkeyPatch.context() as mp:
        for name, fn in (("run_stages", stages), ("plant_motifs", plant), ("make_peaks", peaks)):
            mp.setattr(simrun, name, fn)
        summary = simulate(root / "out", samples, params, seed=seed, progress=False)
    out = {k: root / "out" / v for k, v in OUTPUTS.items()}
    # the peak files lie where simulated_paths derives them in outdir, never at the sheet's `peaks` paths
    derived = simulated_paths(root / "out", samples)["peaks"]
    samples = samples.assign(given=samples["peaks"], peaks=[derived[n] for n in samples["name"]])
    fasta, lines = read_fasta(out["fasta"])
    return {"root": root, "samples": samples, "summary": summary, "out": out, "fasta": fasta, "lines": lines, **cap}


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    root = tmp_path_factory.mktemp("sim")
    return {"name": "sim", **simulate_captured(root, make_samples(root), PARAMS, 7)}


@pytest.fixture(scope="module")
def edge(tmp_path_factory):
    root = tmp_path_factory.mktemp("edge")
    return {"name": "edge", **simulate_captured(root, make_samples(root, EDGE_SAMPLES), EDGE_PARAMS, 3)}


@pytest.fixture(params=["sim", "edge"])
def case(request):
    """Both simulations: the default-like one and the one at the edges of the parameters."""
    return request.getfixturevalue(request.param)


@pytest.fixture(scope="module")
def genome(sim):
    return sim["fasta"]


@pytest.fixture(scope="module")
def tables(sim):
    p = simulate_params(PARAMS)
    inst = pd.read_csv(sim["out"]["motif_instances"], sep="\t")
    factors = sorted(inst["factor"].unique())
    pwm = {f: pwm_tables(m["counts"], p["motifs"]["pseudocount"]) for f, m in load_motifs(factors).items()}
    return {
        "inst": inst,
        "sites": pd.read_csv(sim["out"]["sites"], sep="\t"),
        "snps": pd.read_csv(sim["out"]["snps"], sep="\t"),
        "pwm": pwm,
    }


# ------------------------------------------------------------------------------------------ plain references
def read_fasta(path: Path) -> tuple[dict[str, np.ndarray], dict[str, list[int]]]:
    """A plain FASTA reader: name -> codes (:data:`LUT`), and name -> the length of each of its lines."""
    raw = Path(path).read_bytes()
    assert raw.endswith(b"\n")
    parts: dict[str, list[bytes]] = {}
    for line in raw[:-1].split(b"\n"):
        if line.startswith(b">"):
            name = line[1:].decode()
            assert name not in parts
            parts[name] = []
        else:
            parts[name].append(line)
    return ({n: LUT[np.frombuffer(b"".join(p), dtype=np.uint8)] for n, p in parts.items()},
            {n: [len(x) for x in p] for n, p in parts.items()})


def rc(codes) -> np.ndarray:
    """Reverse complement of A, C, G, T codes (the simple reference)."""
    codes = np.asarray(codes)
    assert (codes < 4).all()
    return (3 - codes)[::-1]


def to_local(genome: Genome, gpos) -> tuple[np.ndarray, np.ndarray]:
    """Reference for genome position -> (chromosome, 0-based position): a scan over the chromosome lengths."""
    gpos = np.asarray(gpos, dtype=np.int64)
    names, local = np.empty(gpos.size, dtype=object), np.full(gpos.size, -1, dtype=np.int64)
    start = 0
    for name, length in zip(genome.chroms, genome.lengths):
        on = (gpos >= start) & (gpos < start + length)
        names[on], local[on] = name, gpos[on] - start
        start += int(length)
    assert (local >= 0).all(), "a genome position outside every chromosome"
    return names, local


def site_id(i: int) -> str:
    return f"site{i + 1:06d}"


def read_vcf(path: Path) -> tuple[list[str], pd.DataFrame]:
    with gzip.open(path, "rt") as fh:
        lines = fh.read().splitlines()
    header = [line for line in lines if line.startswith("#")]
    body = pd.DataFrame([line.split("\t") for line in lines if not line.startswith("#")],
                        columns=["chrom", "pos", "id", "ref", "alt", "qual", "filter", "info"])
    return header, body


def instance_windows(state: SimState) -> tuple[np.ndarray, np.ndarray]:
    """Genome [start, end) of every planted instance (from its factor's PWM length, not the table's ``length``)."""
    inst = state.planted.inst
    start = inst["start"].to_numpy()
    return start, start + state.motifs.flen[inst["factor"].to_numpy()]


# -------------------------------------------------------------------- truth files against the in-memory state
def test_fasta_index_and_sizes_equal_the_genome(case):
    state, out = case["state"], case["out"]
    g, width = state.genome, int(state.p["genome"]["line_width"])
    fasta, lines = case["fasta"], case["lines"]
    assert list(fasta) == g.chroms
    for c, name in enumerate(g.chroms):
        L = int(g.lengths[c])
        np.testing.assert_array_equal(fasta[name], g.seq[g.offsets[c] : g.offsets[c + 1]])
        assert lines[name] == [width] * (L // width) + ([L % width] if L % width else [])
    # lowercase exactly at the repeats, which cover about genome.repeat_fraction of it and never an N
    raw = np.frombuffer(b"".join(line for line in out["fasta"].read_bytes().split(b"\n")
                                 if not line.startswith(b">")), dtype=np.uint8)
    np.testing.assert_array_equal(raw >= ord("a"), g.repeat)
    assert not (g.repeat & (g.seq == 4)).any()  # 4: N
    frac = float(state.p["genome"]["repeat_fraction"])
    assert 0.5 * frac < g.repeat.mean() <= 1.05 * frac
    # N exactly in the gaps
    in_gap = np.zeros(g.seq.size, bool)
    for a, b in g.gaps:
        in_gap[a:b] = True
    assert in_gap.any()
    np.testing.assert_array_equal(g.seq == 4, in_gap)
    # the index: each base read at the byte its offset and line widths give, around line ends and both chromosome ends
    raw = out["fasta"].read_bytes()
    fai = pd.read_csv(out["fai"], sep="\t", header=None, names=["name", "length", "offset", "bases", "bytes"])
    assert fai["name"].tolist() == g.chroms and fai["length"].tolist() == g.lengths.tolist()
    assert (fai["bases"] == width).all() and (fai["bytes"] == width + 1).all()
    for row in fai.itertuples():
        assert raw[: row.offset].endswith(f">{row.name}\n".encode())
        L = row.length
        pos = np.unique(np.clip([0, 1, width - 1, width, width + 1, 2 * width, L // 2, L - width - 1, L - width,
                                 L - 2, L - 1], 0, L - 1))
        got = LUT[np.frombuffer(bytes(raw[row.offset + p // width * (width + 1) + p % width] for p in pos), np.uint8)]
        np.testing.assert_array_equal(got, fasta[row.name][pos])
    sizes = pd.read_csv(out["chrom_sizes"], sep="\t", header=None)
    assert sizes[0].tolist() == g.chroms and sizes[1].tolist() == g.lengths.tolist()


def test_motif_instances_file_equals_the_planted_instances(case):
    state = case["state"]
    inst, mo = state.planted.inst, state.motifs
    f = pd.read_csv(case["out"]["motif_instances"], sep="\t", keep_default_na=False)
    assert list(f.columns) == MOTIF_COLUMNS and len(f) == len(inst) > 0
    fac = inst["factor"].to_numpy()
    start, end = instance_windows(state)
    chrom, local = to_local(state.genome, start)
    end_chrom, _ = to_local(state.genome, end - 1)
    assert (chrom == end_chrom).all()  # no instance straddles a chromosome end
    assert f["site"].tolist() == [site_id(i) for i in inst["site"]]
    assert f["chrom"].tolist() == chrom.tolist()
    np.testing.assert_array_equal(f["start"], local)
    np.testing.assert_array_equal(f["end"], local + end - start)
    np.testing.assert_array_equal(inst["length"], end - start)
    assert f["strand"].tolist() == ["-" if m else "+" for m in inst["minus"]]
    assert f["factor"].tolist() == [mo.factors[i] for i in fac]
    assert f["matrix_id"].tolist() == [mo.records[mo.factors[i]]["matrix_id"] for i in fac]
    np.testing.assert_allclose(f["score"], inst["score"], rtol=0, atol=5e-5)
    np.testing.assert_allclose(f["match"], inst["match"], rtol=0, atol=5e-5)
    # written at 4 decimals, as the column docs say: not more
    np.testing.assert_array_equal(f["score"], np.round(inst["score"].to_numpy(), 4))
    np.testing.assert_array_equal(f["match"], np.round(inst["match"].to_numpy(), 4))
    # the inputs that reveal coordinate bugs are there: both strands, odd and even motif widths
    assert set(f["strand"]) == {"+", "-"}
    assert set((f["end"] - f["start"]) % 2) == {0, 1}
    # planted instances never overlap
    order = np.argsort(start)
    assert (start[order][1:] >= end[order][:-1]).all()


def test_planted_sequences_are_in_the_fasta_on_their_strand(case):
    """The FASTA holds at each truth row the bases planted there (read on the row's strand, they score as the row
    says), except the create SNPs' knocked-out base; planting wrote nowhere else."""
    state, fasta = case["state"], case["fasta"]
    before, after, seq = case["before_planting"], case["after_planting"], state.genome.seq
    mo = state.motifs
    gstart, gend = instance_windows(state)
    covered = np.zeros(seq.size, bool)
    for a, b in zip(gstart, gend):
        covered[a:b] = True
    assert not ((before != after) & ~covered).any(), "planting wrote outside the instances"
    create = {int(gpos): (ref, alt, r) for gpos, ref, alt, _, r in state.create}
    assert create and all(gstart[r] <= gpos < gend[r] for gpos, (_, _, r) in create.items())
    assert set(np.flatnonzero(after != seq)) <= set(create)
    f = pd.read_csv(case["out"]["motif_instances"], sep="\t", keep_default_na=False)
    p = state.p["motifs"]
    records = load_motifs(mo.factors, p["release"], p["collection"], p["tax_group"])
    lo = {name: pwm_tables(records[name]["counts"], p["pseudocount"])[1] for name in mo.factors}
    gaps = []
    for i, row in enumerate(f.itertuples()):
        window = fasta[row.chrom][row.start : row.end]
        planted = after[gstart[i] : gend[i]].copy()
        for gpos, (ref, _, r) in create.items():
            if r == i:
                planted[gpos - gstart[i]] = ref
        np.testing.assert_array_equal(window, planted)
        motif_order = window if row.strand == "+" else rc(window)
        other = rc(window) if row.strand == "+" else window
        L = lo[row.factor].shape[0]
        assert window.size == L
        score = lo[row.factor][np.arange(L), motif_order].sum()
        assert score == pytest.approx(row.score, abs=1e-3)
        gaps.append((row.factor, row.strand, score - lo[row.factor][np.arange(L), other].sum()))
    # read on the other strand the instances of a non-palindromic motif score lower (a strand flip would show),
    # per factor and strand; a palindrome (CEBPB) scores the same on both
    gap = pd.DataFrame(gaps, columns=["factor", "strand", "gap"]).groupby(["factor", "strand"])["gap"].mean()
    for (factor, strand), x in gap.items():
        prob = mo.prob[mo.factors.index(factor)]
        expected = (prob * (lo[factor] - lo[factor][::-1, ::-1])).sum()  # the mean gap of an unsharpened draw
        assert x > expected / 2 if expected > 1 else abs(x) < 1, (factor, strand, x, expected)


def test_sites_file_equals_the_sites_and_their_accessibility(case):
    state, fasta = case["state"], case["fasta"]
    sites, inst, acc = state.sites, state.planted.inst, state.access.acc
    K, W = int(state.p["sites"]["slots"]), int(state.p["sites"]["slot_bp"])
    cells = state.samples["name"].tolist()
    f = pd.read_csv(case["out"]["sites"], sep="\t", keep_default_na=False)
    assert list(f.columns) == ["site", "chrom", "start", "end", "centre", "class", "n_motifs", "cooperative",
                               "a_tract"] + cells
    n = sites.centre.size
    assert len(f) == n and f["site"].tolist() == [site_id(i) for i in range(n)]
    chrom, centre = to_local(state.genome, sites.centre)
    assert f["chrom"].tolist() == chrom.tolist() and (np.array(state.genome.chroms)[sites.chrom_idx] == chrom).all()
    np.testing.assert_array_equal(f["centre"], centre)
    # [start, end) spans the K slots of W bp, the first starting K * W // 2 bp before the centre
    np.testing.assert_array_equal(f["start"], centre - K * W // 2)
    np.testing.assert_array_equal(f["end"], centre - K * W // 2 + K * W)
    assert f["class"].tolist() == [sites.classes[c] for c in sites.cls]
    per_site = Counter(inst["site"].tolist())
    assert f["n_motifs"].tolist() == [per_site.get(i, 0) for i in range(n)]
    assert f["cooperative"].tolist() == [int(x >= 0) for x in state.planted.pair]
    assert f["a_tract"].tolist() == sites.a_tract.astype(int).tolist()
    np.testing.assert_array_equal(f[cells].to_numpy(), acc.astype(int))
    text = pd.read_csv(case["out"]["sites"], sep="\t", dtype=str, keep_default_na=False)
    for col in ["n_motifs", "cooperative", "a_tract"] + cells:  # integers as integers: "1", never "1.0"
        assert text[col].str.fullmatch(r"\d+").all(), col
    # every instance lies in its site, in its slot; a cooperative pair's two motifs fill slots 0 and 1 with
    # `spacing` bp between them, on the + strand
    m = pd.read_csv(case["out"]["motif_instances"], sep="\t", keep_default_na=False)
    s = f.set_index("site").loc[m["site"]]
    assert (m["chrom"].to_numpy() == s["chrom"].to_numpy()).all()
    slot_start = s["start"].to_numpy() + inst["slot"].to_numpy() * W
    pair_of = state.planted.pair[inst["site"].to_numpy()]
    in_slot = (m["start"].to_numpy() >= slot_start) & (m["end"].to_numpy() <= slot_start + W)
    assert in_slot[(pair_of < 0) | (inst["slot"].to_numpy() >= 2)].all()
    assert ((m["start"] >= s["start"].to_numpy()) & (m["end"] <= s["end"].to_numpy())).all()
    coop = state.p["cooperative"]
    for site in np.flatnonzero(state.planted.pair >= 0):
        pr = coop[state.planted.pair[site]]
        rows = m[(m["site"] == site_id(site)).to_numpy() & (inst["slot"].to_numpy() < 2)]
        assert rows["factor"].tolist() == [pr["first"], pr["second"]] and (rows["strand"] == "+").all()
        assert rows["start"].iloc[1] - rows["end"].iloc[0] == pr["spacing"]
    if coop[0]["prob"] == 1.0:  # the edge case: every erythroid site carries the pair
        assert (f["cooperative"] == (f["class"] == "erythroid")).all()
    # an A-tract of at least 10 bp of one of A or T flanks the core of each site flagged with one, 5 bp out
    core = K * W // 2
    for row in f[f["a_tract"] == 1].itertuples():
        seq, c = fasta[row.chrom], row.centre
        left, right = seq[c - core - 15 : c - core - 5], seq[c + core + 5 : c + core + 15]
        assert any(np.unique(x).size == 1 and x[0] in (0, 3) for x in (left, right)), row.site
    # each cell's accessible sites: the top fraction of its scores
    lo, hi = state.p["accessibility"]["fraction"]
    assert ((acc.sum(0) >= np.floor(lo * n)) & (acc.sum(0) <= np.ceil(hi * n))).all()
    z = state.access.z
    for c in range(len(cells)):
        assert z[acc[:, c], c].min() >= z[~acc[:, c], c].max()


def test_cell_activity_file_equals_the_activities(case):
    state = case["state"]
    f = pd.read_csv(case["out"]["cell_activity"], sep="\t", index_col=0)
    assert f.index.name == "cell" and f.index.tolist() == state.samples["name"].tolist()
    assert f.columns.tolist() == state.motifs.factors
    np.testing.assert_allclose(f.to_numpy(), state.access.act.to_numpy(), rtol=0, atol=5e-7)
    if case["name"] == "edge":
        assert (f.to_numpy() == 0).all()  # no cell has an active factor
    else:  # each cell's own lineage factors above every other lineage's
        for cell, group in zip(state.samples["name"], state.samples["group"]):
            own = state.programs[group]
            others = [x for g, fs in state.programs.items() if g != group for x in fs]
            assert f.loc[cell, own].min() > f.loc[cell, others].max(), cell


def test_snp_files_equal_the_variants(case):
    """truth/snps.tsv, the VCF and the PICS table against the in-memory SNPs: 1-based positions, alleles, roles,
    blocks, the causal site and factor."""
    state, fasta = case["state"], case["fasta"]
    s, inst, mo = state.snps, state.planted.inst, state.motifs
    chrom, local = to_local(state.genome, s["gpos"])
    f = pd.read_csv(case["out"]["snps"], sep="\t", keep_default_na=False)
    assert list(f.columns) == SNP_COLUMNS and len(f) == len(s) > 0
    assert f["id"].tolist() == [f"snp{i:06d}" for i in range(1, len(s) + 1)] == s["id"].tolist()
    assert f["chrom"].tolist() == chrom.tolist()
    np.testing.assert_array_equal(f["pos"], local + 1)
    assert f["ref"].tolist() == ["ACGT"[x] for x in s["ref"]] and f["alt"].tolist() == ["ACGT"[x] for x in s["alt"]]
    assert f["role"].tolist() == s["role"].tolist() and f["block"].tolist() == s["block"].tolist()
    assert f["site"].tolist() == [site_id(x) if x >= 0 else "." for x in s["site"]]
    assert f["factor"].tolist() == [mo.factors[x] if x >= 0 else "." for x in s["factor_i"]]
    np.testing.assert_allclose(f["pics"], s["pics"], rtol=0, atol=5e-5)
    np.testing.assert_array_equal(f["pics"], np.round(s["pics"].to_numpy(), 4))  # 4 decimals, not more
    # REF is the base at the 1-based position, in the FASTA and in memory; no two SNPs share a position
    assert (f["ref"] != f["alt"]).all() and s["gpos"].is_unique
    assert ["ACGT"[fasta[c][p - 1]] for c, p in zip(f["chrom"], f["pos"])] == f["ref"].tolist()
    np.testing.assert_array_equal(state.genome.seq[s["gpos"].to_numpy()], s["ref"])
    # the create SNPs are the state's, at their instance, with its site and factor
    by_gpos = f.set_index(s["gpos"].to_numpy())
    assert (f["role"] == "causal_create").sum() == len(state.create)
    for gpos, ref, alt, role, r in state.create:
        row = by_gpos.loc[gpos]
        assert (row["role"], row["ref"], row["alt"]) == (role, "ACGT"[ref], "ACGT"[alt])
        assert (row["site"], row["factor"]) == (site_id(inst.at[r, "site"]), mo.factors[inst.at[r, "factor"]])
    # a causal break or create SNP lies in an instance of its site and factor; the others on no site
    windows = pd.read_csv(case["out"]["sites"], sep="\t", keep_default_na=False)
    m = pd.read_csv(case["out"]["motif_instances"], sep="\t", keep_default_na=False)
    for row in f.itertuples():
        if row.role in ("causal_break", "causal_create"):
            hit = m[(m["chrom"] == row.chrom) & (m["start"] < row.pos) & (m["end"] >= row.pos)]
            assert hit[["site", "factor"]].values.tolist() == [[row.site, row.factor]], row
        else:
            on = windows[(windows["chrom"] == row.chrom) & (windows["start"] < row.pos) & (windows["end"] >= row.pos)]
            assert on.empty and row.site == row.factor == ".", row
    # VCF: the contigs, then one record per SNP in the same order
    header, vcf = read_vcf(case["out"]["vcf"])
    assert header[0] == "##fileformat=VCFv4.2" and header[-1].startswith("#CHROM\tPOS\tID\tREF\tALT")
    assert [h for h in header if h.startswith("##contig")] == [
        f"##contig=<ID={c},length={L}>" for c, L in zip(state.genome.chroms, state.genome.lengths)]
    assert vcf["chrom"].tolist() == chrom.tolist() and vcf["pos"].astype(int).tolist() == (local + 1).tolist()
    assert vcf[["id", "ref", "alt"]].values.tolist() == f[["id", "ref", "alt"]].values.tolist()
    assert (vcf["qual"] == ".").all() and (vcf["filter"] == "PASS").all()
    info = [dict(kv.split("=") for kv in x.split(";")) for x in vcf["info"]]
    assert [int(i["BLOCK"]) for i in info] == s["block"].tolist() and [i["ROLE"] for i in info] == s["role"].tolist()
    np.testing.assert_allclose([float(i["PICS"]) for i in info], s["pics"], rtol=0, atol=5e-5)
    keys = [(state.genome.chroms.index(c), p) for c, p in zip(chrom, local)]
    assert keys == sorted(keys)
    # PICS table: by block then position; the disease named after the causal site's class; the index SNP the
    # block's middle SNP with its ALT
    pics = pd.read_csv(case["out"]["pics"], sep="\t", keep_default_na=False)
    assert list(pics.columns) == ["Disease", "IndexSNP_riskAllele", "SNP", "chr", "pos", "PICS_probability",
                                  "Annotation"]
    order = s.assign(chrom=chrom, pos=local + 1).sort_values(["block", "gpos"], kind="stable")
    assert pics["SNP"].tolist() == order["id"].tolist()
    assert pics["chr"].tolist() == order["chrom"].tolist() and pics["pos"].tolist() == order["pos"].tolist()
    np.testing.assert_allclose(pics["PICS_probability"], order["pics"], rtol=0, atol=5e-5)
    classes = np.array(state.sites.classes)[state.sites.cls]
    for block, g in order.groupby("block"):
        causal = g[g["role"] != "bystander"]
        assert len(causal) == 1
        site = int(causal["site"].iloc[0])
        disease = f"Simulated_{classes[site] if site >= 0 else 'intergenic'}_trait"
        mid = g.iloc[len(g) // 2]
        rows = pics[pics["SNP"].isin(g["id"])]
        assert (rows["Disease"] == disease).all()
        assert (rows["IndexSNP_riskAllele"] == f"{mid['id']}-{'ACGT'[mid['alt']]}").all()


def test_conservation_bigwig_equals_the_track(case):
    """Every base's value is the in-memory track's (N: none); at the planted motifs outside repeats the track
    holds ``per_bit`` times the information content of the motif position, read on the instance's strand; in
    repeats, the neutral background only."""
    import pyBigWig

    state, cons = case["state"], case["cons"]
    g = state.genome
    bw = pyBigWig.open(str(case["out"]["phylop"]))
    try:
        assert bw.chroms() == dict(zip(g.chroms, g.lengths.tolist()))
        vals = np.concatenate([bw.values(c, 0, int(L), numpy=True) for c, L in zip(g.chroms, g.lengths)])
    finally:
        bw.close()
    isn = g.seq == 4
    assert np.isnan(vals[isn]).all()
    np.testing.assert_array_equal(vals[~isn], cons[~isn].astype(np.float32))
    per_bit, sd = state.p["conservation"]["per_bit"], state.p["conservation"]["sd"]
    m = pd.read_csv(case["out"]["motif_instances"], sep="\t", keep_default_na=False)
    gstart, _ = instance_windows(state)
    resid = {"stated": [], "flipped": [], "shifted": []}
    in_repeat = []
    for i, row in enumerate(m.itertuples()):
        ic = state.motifs.ic[state.motifs.factors.index(row.factor)] * per_bit
        v = vals[gstart[i] : gstart[i] + ic.size]
        if g.repeat[gstart[i] : gstart[i] + ic.size].any():  # a repeat: no motif signal
            in_repeat.append(v[g.repeat[gstart[i] : gstart[i] + ic.size]])
            continue
        v = v if row.strand == "+" else v[::-1]  # motif order
        resid["stated"].append(v - ic)
        resid["flipped"].append(v - ic[::-1])
        resid["shifted"].append(v - np.roll(ic, 1))
    off = np.ones(vals.size, bool)
    for a, b in zip(*instance_windows(state)):
        off[a:b] = False
    assert np.nanstd(vals[off]) == pytest.approx(sd, rel=0.1) and abs(np.nanmean(vals[off])) < 0.05
    mse = {k: float(np.mean(np.concatenate(x) ** 2)) for k, x in resid.items()}
    assert mse["stated"] < 1.3 * sd**2 < min(mse["flipped"], mse["shifted"]), mse
    assert abs(np.mean(np.concatenate(resid["stated"]))) < 0.1
    if in_repeat:  # motif positions in repeats: the background, mean 0 and sd as elsewhere
        rep = np.concatenate(in_repeat)
        assert abs(rep.mean()) < 4 * sd / np.sqrt(rep.size) + 0.05 and rep.std() < 1.3 * sd


def test_peak_files_equal_the_peaks_of_the_accessible_sites(case):
    state = case["state"]
    g, sites = state.genome, state.sites
    jitter = state.p["peaks"]["jitter_sd"]
    for c, row in enumerate(case["samples"].itertuples()):
        frame, cols = case["peaks"][row.name], PEAK_COLUMNS[row.format]
        f = pd.read_csv(row.peaks, sep="\t", header=None, keep_default_na=False)
        assert f.shape == (len(frame), len(cols))
        f.columns = cols
        pd.testing.assert_frame_equal(f, frame[cols].reset_index(drop=True), check_dtype=False)
        # one peak per site accessible in the cell, plus the false ones; named in order; inside their chromosome
        n_true = int(state.access.acc[:, c].sum())
        assert len(f) == n_true + case["n_false"][row.name] and case["n_false"][row.name] > 0
        assert f["name"].tolist() == [f"{row.name}_peak{i}" for i in range(1, len(f) + 1)]
        L = f["chrom"].map(dict(zip(g.chroms, g.lengths))).to_numpy()
        assert ((f["start"] >= 0) & (f["start"] < f["end"]) & (f["end"] <= L)).all()
        keys = list(zip(f["chrom"].map(g.chroms.index), f["start"]))
        assert keys == sorted(keys)
        # the summit of a peak lies within 6 sd of the jitter of each accessible site's centre
        summit = f["start"] + (f["peak"] if "peak" in cols else (f["end"] - f["start"]) // 2)
        chrom, centre = to_local(g, sites.centre[state.access.acc[:, c]])
        slack = 6 * jitter + (0 if "peak" in cols else state.p["peaks"]["width"][1] // 2)
        for ch in set(chrom):
            d = np.abs(summit[f["chrom"] == ch].to_numpy()[None] - centre[chrom == ch][:, None]).min(1)
            assert (d <= slack).all(), (row.name, ch, d.max())
        if "peak" in cols:  # the false peaks' summits are the ones off every site (of any class)
            chrom, centre = to_local(g, sites.centre)
            far = [np.abs(x - centre[chrom == ch]).min() > slack for ch, x in zip(f["chrom"], summit)]
            assert sum(far) == case["n_false"][row.name]


def test_summary_equals_the_state(case):
    state, summary, out = case["state"], case["summary"], case["out"]
    saved = json.loads(out["summary"].read_text())
    assert saved == {k: v for k, v in summary.items() if k != "seconds"}
    g, acc, snps = state.genome, state.access.acc, state.snps
    c = saved["counts"]
    assert c["genome_bp"] == int(g.lengths.sum()) == sum(
        int(line.split("\t")[1]) for line in out["chrom_sizes"].read_text().splitlines())
    assert c["gap_bp"] == int((g.gaps[:, 1] - g.gaps[:, 0]).sum())
    assert c["sites"] == state.sites.centre.size and c["motif_instances"] == len(state.planted.inst)
    assert c["sites_by_class"] == {k: int((state.sites.cls == i).sum()) for i, k in enumerate(state.sites.classes)}
    assert c["sites_accessible_anywhere"] == int(acc.any(1).sum())
    assert c["peaks"] == {k: len(v) for k, v in case["peaks"].items()} and c["false_peaks"] == case["n_false"]
    assert c["snps"] == len(snps) and c["ld_blocks"] == snps["block"].nunique()
    assert c["snps_by_role"] == dict(Counter(snps["role"]))
    assert c["genes"] == int((state.sites.cls == 0).sum())
    assert saved["accessible_fraction"] == dict(zip(state.samples["name"], np.round(acc.mean(0), 6).tolist()))
    assert saved["factors"] == {f: state.motifs.records[f]["matrix_id"] for f in state.motifs.factors}
    assert saved["programs_used"] == state.programs and saved["seed"] == state.seed


# ------------------------------------------------------------------------- the model's properties, in the files
def test_outputs_and_summary(sim):
    for row in sim["samples"].itertuples():
        assert Path(row.peaks).parent == sim["root"] / "out" / "peaks"
        assert not Path(row.given).exists()  # a sheet's path is never written (issue 12: user data safety)
    saved = json.loads(sim["out"]["summary"].read_text())
    assert saved["seed"] == 7
    assert saved["jaspar_release"] == "JASPAR2026"
    assert saved["factors"]["CTCF"] == "MA0139.2" and saved["factors"]["GATA1"].startswith("MA0035")
    assert saved["factor_names"]["SPI1"] == "Spi1"  # case-insensitive match to the mouse name
    assert not list((sim["root"] / "out").glob(".stage-*")), "temporary directory left behind"


def test_genome_composition(sim, genome, tables):
    allseq = np.concatenate(list(genome.values()))
    acgt = allseq[allseq < 4]
    gc = np.isin(acgt, (1, 2)).mean()
    assert 0.37 < gc < 0.45

    # CpG depletion outside CpG islands (promoters and sites), islands CpG-rich
    def cpg_oe(seq):
        return ((seq[:-1] == 1) & (seq[1:] == 2)).sum() / ((seq == 1).sum() * (seq == 2).sum() / (seq < 4).sum())

    sites = tables["sites"]
    c1 = sites[sites["chrom"] == "chr1"]
    island = np.zeros(genome["chr1"].size, bool)
    prom = c1.loc[c1["class"] == "promoter", "centre"].to_numpy()
    island[(prom[:, None] + np.arange(-400, 400)[None]).ravel()] = True
    in_site = np.zeros_like(island)
    in_site[(c1["centre"].to_numpy()[:, None] + np.arange(-500, 500)[None]).ravel()] = True
    assert cpg_oe(genome["chr1"][~in_site]) < 0.4
    assert cpg_oe(genome["chr1"][island]) > 0.7


def score_windows(seq: np.ndarray, starts: np.ndarray, lo: np.ndarray, minus: np.ndarray) -> np.ndarray:
    L = lo.shape[0]
    w = seq[starts[:, None] + np.arange(L)[None]]
    w = np.where(minus[:, None], 3 - w[:, ::-1], w)
    ok = (w < 4).all(1)
    return np.where(ok, lo[np.arange(L)[None], np.minimum(w, 3)].sum(1), -np.inf)


def test_planted_motifs_stand_out_of_the_background(genome, tables):
    inst = tables["inst"]
    rng = np.random.default_rng(0)
    seq = genome["chr1"]
    for factor, grp in inst.groupby("factor"):
        lo = tables["pwm"][factor][1]
        bg = score_windows(seq, rng.integers(0, seq.size - 50, 2000), lo, rng.random(2000) < 0.5)
        bg = bg[np.isfinite(bg)]
        strong = grp["match"] > 0.5  # decoys and create-SNP targets are weaker
        assert np.median(grp.loc[strong, "score"]) > np.quantile(bg, 0.99), factor


def test_accessibility_follows_the_classes(sim, tables):
    cells = sim["samples"]["name"].tolist()
    # decoys are (almost) never accessible; promoters often are
    by_class = tables["sites"].groupby("class")[cells].mean().mean(axis=1)
    assert by_class["decoy"] < 0.05 < by_class["erythroid"]
    assert by_class["promoter"] > 0.3


def test_siblings_share_more_sites(sim, tables):
    names = sim["samples"]["name"].tolist()
    acc = tables["sites"][names].to_numpy().astype(bool)
    group = sim["samples"]["group"].to_numpy()
    sib, other = [], []
    for i in range(len(names)):
        for j in range(i + 1, len(names)):
            jac = (acc[:, i] & acc[:, j]).sum() / (acc[:, i] | acc[:, j]).sum()
            (sib if group[i] == group[j] else other).append(jac)
    assert min(sib) > max(other)
    # lineage sites are accessible in their own lineage, not the others
    sites = tables["sites"]
    ery = sites[sites["class"] == "erythroid"]
    assert ery[["ery_1", "ery_2"]].mean().min() > 5 * ery[["hep_1", "hep_2"]].mean().max()


def test_peak_files_parse_as_bed(sim):
    import pybedtools

    for row in sim["samples"].itertuples():
        ivs = list(pybedtools.BedTool(row.peaks))
        assert len(ivs) == sim["summary"]["counts"]["peaks"][row.name]
        assert all(len(iv.fields) == len(PEAK_COLUMNS[row.format]) for iv in ivs)
        with gzip.open(row.peaks, "rb") as fh:
            assert fh.read(3) == b"chr"


def test_genes_gtf(case):
    import pybedtools

    state = case["state"]
    gtf = list(pybedtools.BedTool(str(case["out"]["genes"])))
    assert {iv.fields[2] for iv in gtf} == {"gene", "transcript", "exon"}
    genes = [iv for iv in gtf if iv.fields[2] == "gene"]
    assert {iv.strand for iv in genes} == {"+", "-"}
    assert all("gene_id" in iv.attrs and "gene_name" in iv.attrs for iv in genes)
    assert all("transcript_id" in iv.attrs for iv in gtf if iv.fields[2] != "gene")
    # one gene per promoter site, its TSS at the centre (0-based TSS = GTF start - 1 on +, GTF end - 1 on -)
    tss = {(iv.chrom, iv.start if iv.strand == "+" else iv.end - 1) for iv in genes}
    chrom, centre = to_local(state.genome, state.sites.centre[state.sites.cls == 0])
    assert len(genes) == centre.size and set(zip(chrom, centre.tolist())) == tss
    # exons lie inside their gene, which lies inside its chromosome
    span = {iv.attrs["gene_id"]: (iv.start, iv.end) for iv in genes}
    sizes = dict(zip(state.genome.chroms, state.genome.lengths))
    assert all(0 <= iv.start < iv.end <= sizes[iv.chrom] for iv in genes)
    for iv in gtf:
        if iv.fields[2] == "exon":
            s, e = span[iv.attrs["gene_id"]]
            assert s <= iv.start < iv.end <= e


def test_causal_snps_break_or_create_their_motif(case):
    """A break SNP turns the most informative base of an accessible instance into the least likely other base; a
    create SNP's REF is the least likely base there and its ALT the most likely (read on the instance's strand)."""
    state = case["state"]
    snps = pd.read_csv(case["out"]["snps"], sep="\t", keep_default_na=False)
    inst = pd.read_csv(case["out"]["motif_instances"], sep="\t", keep_default_na=False)
    sites = pd.read_csv(case["out"]["sites"], sep="\t", keep_default_na=False).set_index("site")
    p = state.p["motifs"]
    pwm = {f: pwm_tables(m["counts"], p["pseudocount"])
           for f, m in load_motifs(state.motifs.factors, p["release"], p["collection"], p["tax_group"]).items()}
    roles = snps["role"].value_counts()
    assert roles["causal_break"] > 0 and roles["causal_create"] > 0 and roles["bystander"] > 0
    for s in snps[snps["role"].isin(["causal_break", "causal_create"])].itertuples():
        h = inst[(inst["chrom"] == s.chrom) & (inst["start"] < s.pos) & (inst["end"] >= s.pos)].iloc[0]
        prob, lo, ic = pwm[s.factor]
        j = (s.pos - 1 - h.start) if h.strand == "+" else (h.end - s.pos)
        assert ic[j] == ic.max()  # the most informative position of the motif
        ref, alt = "ACGT".index(s.ref), "ACGT".index(s.alt)
        if h.strand == "-":
            ref, alt = 3 - ref, 3 - alt
        if s.role == "causal_break":
            assert lo[j, alt] == min(lo[j, b] for b in range(4) if b != ref) < lo[j, ref], s
            assert sites.loc[s.site, case["samples"]["name"]].any()
        else:
            assert lo[j, ref] == lo[j].min() and lo[j, alt] == lo[j].max(), s
    # PICS: one likely-causal SNP per block, bystanders small; a block sums to 1 unless too few bystanders found
    # room off the sites, at the cap, to carry the rest (near 1 with the default sites, short where sites are dense)
    causal = snps["role"] != "bystander"
    v = state.p["variants"]
    assert snps.loc[causal, "pics"].between(*v["causal_pics"]).all()
    assert (snps.loc[~causal, "pics"] <= v["max_bystander_pics"]).all()
    assert (causal.groupby(snps["block"]).sum() == 1).all()
    for block, g in snps.groupby("block"):
        capped = (g.loc[g["role"] == "bystander", "pics"] == v["max_bystander_pics"]).any()
        assert g["pics"].sum() == pytest.approx(1, abs=1e-4 * len(g)) or (g["pics"].sum() < 1 and capped), g
    sums = snps.groupby("block")["pics"].sum()
    if case["name"] == "sim":
        assert sums.between(0.85, 1.001).all(), sums.describe()
    span = snps.groupby("block")["pos"].agg(lambda s: s.max() - s.min())
    assert span.max() <= v["block_kb"][1] * 1000


def read_all(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_same_seed_identical_other_seed_differs(sim, tmp_path):
    """The second run goes through the rule's stage function, from a sample sheet file and the rule's outputs."""
    def run(root, seed):
        samples = make_samples(root)
        simulate(root / "out", samples, PARAMS, seed=seed, progress=False)
        return read_all(root)

    a = read_all(sim["root"])
    b_root = tmp_path / "b"
    sheet = tmp_path / "samples.tsv"
    make_samples(b_root).to_csv(sheet, sep="\t", index=False)
    out = simulated_paths(b_root / "out", make_samples(b_root))
    out["peaks"] = list(out["peaks"].values())
    result = simulate_genome(samples=str(sheet), out=out, simulate={"enabled": True, "outdir": "x", **PARAMS}, seed=7)
    assert result["outdir"] == str(b_root / "out") and result["cells"] == len(GROUPS) * 2
    b = read_all(b_root)
    assert a.keys() == b.keys()
    for k in a:
        assert a[k] == b[k], f"{k} differs between two runs with the same seed"
    c = run(tmp_path / "c", 8)
    differ = [k for k in a if hashlib.md5(a[k]).digest() != hashlib.md5(c[k]).digest()]
    assert "out/genome.fa" in differ and "out/truth/sites.tsv" in differ and "out/phylop.bw" in differ


def test_gzipped_outputs_carry_no_name_and_no_time(case):
    """The gzip header of every gzipped output (the VCF, the peak files) has no flags (so no file name: gzip
    would store the staging path otherwise) and mtime 0 (RFC 1952), which is why a seed gives the same bytes
    wherever and whenever it runs."""
    files = [case["out"]["vcf"], *case["samples"]["peaks"]]
    assert len(files) > 2
    for path in files:
        head = Path(path).read_bytes()[:10]
        assert head[:3] == b"\x1f\x8b\x08", path  # gzip, deflate
        assert head[3] == 0 and head[4:8] == b"\0\0\0\0", (path, head)


# ----------------------------------------------------------- hand-built states: chromosome boundaries, properties
def one_hot_motifs(consensus: dict[str, str]) -> Motifs:
    """Motifs whose sampling matrix is one-hot on ``consensus`` (every planted instance is the consensus); the
    scoring tables are those of the consensus counts with a pseudocount."""
    prob, lo, ic = [], [], []
    for word in consensus.values():
        onehot = np.eye(4)[LUT[np.frombuffer(word.encode(), np.uint8)]]
        prob.append(onehot)
        _, lo_, ic_ = pwm_tables(onehot * 10, 0.5)
        lo.append(lo_)
        ic.append(ic_)
    records = {f: {"matrix_id": f"MA900{i}.1", "name": f, "counts": p * 10}
               for i, (f, p) in enumerate(zip(consensus, prob))}
    return Motifs(list(consensus), records, prob, lo, ic, np.array([len(w) for w in consensus.values()]),
                  np.array([x.max(1).sum() for x in lo]))


def small_state(chroms: dict[str, str], width: int, consensus: dict[str, str], placements: list) -> SimState:
    """A state of a hand-made genome (chromosome -> its bases) with the instances ``placements`` (genome start,
    factor index, minus) planted by the simulation's own sampler and scored."""
    seq = LUT[np.frombuffer("".join(chroms.values()).encode(), np.uint8)].copy()
    lengths = np.array([len(s) for s in chroms.values()], dtype=np.int64)
    genome = Genome(list(chroms), lengths, np.concatenate([[0], np.cumsum(lengths)]), seq,
                    np.zeros((0, 2), dtype=np.int64))
    motifs = one_hot_motifs(consensus)
    inst = pd.DataFrame(placements, columns=["start", "factor", "minus"]).astype({"start": np.int64, "factor": np.int64,
                                                                               "minus": bool})
    inst.insert(0, "site", np.arange(len(inst), dtype=np.int64))
    inst.insert(1, "slot", np.zeros(len(inst), dtype=np.int64))
    inst["sharp"] = 1.0
    inst["length"] = motifs.flen[inst["factor"].to_numpy()]
    state = SimState({"genome": {"line_width": width}, "sites": {"slots": 1, "slot_bp": 3}}, 0,
                     pd.DataFrame({"name": ["c1", "c2"], "group": ["g", "g"], "format": ["bed", "bed"]}),
                     {"g": list(consensus)})
    state.genome, state.motifs = genome, motifs
    state.planted = Planted(inst, np.full(len(inst), -1, dtype=np.int64))
    sample_instances(np.random.default_rng(0), inst, motifs, seq)
    score_instances(state)
    return state


def test_peak_files_of_an_empty_format_are_narrowpeak(tmp_path):
    """A sample whose format is left empty (inferred elsewhere from the file name) gets every column of its peak
    frame, i.e. the 10 narrowPeak columns that its .narrowPeak.gz path promises; bed keeps 6 and hotspot 5."""
    frame = pd.DataFrame([["chr1", 10, 20, "p1", 5, ".", 2.5, 3.1, 1.2, 4]], columns=PEAK_COLUMNS["narrowPeak"])
    state = SimpleNamespace(samples=pd.DataFrame({"name": ["a", "b", "c"], "format": ["", "bed", "hotspot"]}))
    (tmp_path / "peaks").mkdir()
    out = write_peaks(state, tmp_path, {n: frame for n in ("a", "b", "c")})
    cols = {n: gzip.open(out[n], "rt").read().rstrip("\n").split("\t") for n in ("a", "b", "c")}
    assert cols == {"a": ["chr1", "10", "20", "p1", "5", ".", "2.5", "3.1", "1.2", "4"],
                    "b": ["chr1", "10", "20", "p1", "5", "."], "c": ["chr1", "10", "20", "p1", "5"]}


def test_sites_file_counts_zero_motifs_for_sites_at_the_end_without_one():
    """The last two sites carry no planted motif: their n_motifs is 0 (the count runs over every site, not up to
    the last site with a motif), and the accessibility columns stay integers."""
    state = small_state({"chr1": "CCCCCCCCCCCC"}, 4, {"ODD": "GAC"}, [(1, 0, False)])
    state.sites = Sites(np.array([2, 6, 10]), ["promoter"], np.zeros(3, dtype=np.int64), np.zeros(3, dtype=np.int64),
                        np.zeros(3, dtype=bool), 61)
    state.planted.pair = np.full(3, -1, dtype=np.int64)
    acc = np.array([[1, 0], [0, 0], [1, 1]], dtype=bool)
    state.access = Access(pd.DataFrame([[1.0], [0.0]], index=["c1", "c2"], columns=["ODD"]), acc.astype(float), acc,
                          np.zeros(2))
    f = truth_sites(state, np.array(["s1", "s2", "s3"], dtype=object))
    assert f["n_motifs"].tolist() == [1, 0, 0]
    assert f[["c1", "c2"]].to_numpy().tolist() == [[1, 0], [0, 0], [1, 1]]


def test_writers_at_chromosome_boundaries(tmp_path):
    """Instances, sites and SNPs at the first and last base of chromosomes, motifs of odd and even width on both
    strands, two motifs touching, a chromosome of whole FASTA lines: every file against literal expectations."""
    chroms = {"chr1": "CCCCNCCCCC", "chr2": "CCCCCCCC", "chr3": "CCCCC"}  # genome positions 0-9, 10-17, 18-22
    consensus = {"ODD": "GAC", "EVEN": "AAGT"}
    state = small_state(chroms, 4, consensus, [(0, 0, False), (6, 1, True), (10, 1, False), (14, 0, False),
                                               (20, 0, True)])
    state.sites = Sites(np.array([1, 8, 11, 21]), ["promoter", "constitutive", "decoy", "prog"], np.array([0, 1, 2, 3]),
                        np.array([0, 0, 1, 2]), np.array([False, True, False, False]), 61)
    state.planted.inst["site"] = [0, 1, 2, 2, 3]
    state.planted.pair = np.array([-1, -1, 0, -1])
    acc = np.array([[1, 0], [0, 1], [1, 1], [0, 0]], dtype=bool)
    act = pd.DataFrame([[0.5, 0.0], [0.1234567, 1.0]], index=pd.Index(["c1", "c2"], name="cell"),
                       columns=["ODD", "EVEN"])
    state.access = Access(act, acc.astype(float), acc, np.zeros(2))
    gpos = np.array([0, 9, 10, 17, 18, 22])
    ref = state.genome.seq[gpos].astype(np.int64)
    state.snps = pd.DataFrame({
        "gpos": gpos, "ref": ref, "alt": (ref + 1) % 4,
        "role": ["causal_create", "bystander", "causal_break", "bystander", "causal_outside_site", "bystander"],
        "block": [0, 0, 1, 1, 2, 2], "site": [0, -1, 2, -1, -1, -1], "factor_i": [0, -1, 1, -1, -1, -1],
        "pics": [0.9, 0.1, 0.8, 0.2, 0.7, 0.3], "id": [f"snp{i:06d}" for i in range(1, 7)],
        "annotation": ["none", "missense", "none", "utr3", "none", "none"]})
    (tmp_path / "truth").mkdir()
    write_fasta(state, tmp_path)
    write_truth(state, tmp_path)
    cons = np.round(np.arange(23, dtype=np.float32) * 0.1 - 1, 2)
    write_bigwig(state, tmp_path, cons)

    out = {k: tmp_path / v for k, v in OUTPUTS.items()}
    assert out["fasta"].read_text() == ">chr1\nGACC\nNCAC\nTT\n>chr2\nAAGT\nGACC\n>chr3\nCCGT\nC\n"
    assert out["fai"].read_text() == "chr1\t10\t6\t4\t5\nchr2\t8\t25\t4\t5\nchr3\t5\t41\t4\t5\n"
    assert out["chrom_sizes"].read_text() == "chr1\t10\nchr2\t8\nchr3\t5\n"
    fasta, _ = read_fasta(out["fasta"])
    text = {c: "".join("ACGTN"[x] for x in s) for c, s in fasta.items()}

    m = pd.read_csv(out["motif_instances"], sep="\t")
    s_odd, s_even = (round(float(np.log2(10.5 / 12 / 0.25)) * L, 4) for L in (3, 4))
    assert m.values.tolist() == [
        ["site000001", "chr1", 0, 3, "+", "ODD", "MA9000.1", pytest.approx(s_odd, abs=1e-4), 1.0],
        ["site000002", "chr1", 6, 10, "-", "EVEN", "MA9001.1", pytest.approx(s_even, abs=1e-4), 1.0],
        ["site000003", "chr2", 0, 4, "+", "EVEN", "MA9001.1", pytest.approx(s_even, abs=1e-4), 1.0],
        ["site000003", "chr2", 4, 7, "+", "ODD", "MA9000.1", pytest.approx(s_odd, abs=1e-4), 1.0],
        ["site000004", "chr3", 2, 5, "-", "ODD", "MA9000.1", pytest.approx(s_odd, abs=1e-4), 1.0],
    ]
    # BED coordinates: the bases [start, end) are the consensus, reverse-complemented on the - strand
    assert [text[r.chrom][r.start : r.end] for r in m.itertuples()] == ["GAC", "ACTT", "AAGT", "GAC", "GTC"]

    sites = pd.read_csv(out["sites"], sep="\t")
    assert sites.values.tolist() == [
        ["site000001", "chr1", 0, 3, 1, "promoter", 1, 0, 0, 1, 0],
        ["site000002", "chr1", 7, 10, 8, "constitutive", 1, 0, 1, 0, 1],
        ["site000003", "chr2", 0, 3, 1, "decoy", 2, 1, 0, 1, 1],
        ["site000004", "chr3", 2, 5, 3, "prog", 1, 0, 0, 0, 0],
    ]
    activity = pd.read_csv(out["cell_activity"], sep="\t", index_col=0)
    assert activity.index.name == "cell" and activity.values.tolist() == [[0.5, 0.0], [0.123457, 1.0]]

    # VCF and the SNP table: 1-based positions, the first and last base of each chromosome, REF the base there
    snps = pd.read_csv(out["snps"], sep="\t", keep_default_na=False)
    assert snps.values.tolist() == [
        ["snp000001", "chr1", 1, "G", "T", "causal_create", 0, "site000001", "ODD", 0.9, "none"],
        ["snp000002", "chr1", 10, "T", "A", "bystander", 0, ".", ".", 0.1, "missense"],
        ["snp000003", "chr2", 1, "A", "C", "causal_break", 1, "site000003", "EVEN", 0.8, "none"],
        ["snp000004", "chr2", 8, "C", "G", "bystander", 1, ".", ".", 0.2, "utr3"],
        ["snp000005", "chr3", 1, "C", "G", "causal_outside_site", 2, ".", ".", 0.7, "none"],
        ["snp000006", "chr3", 5, "C", "G", "bystander", 2, ".", ".", 0.3, "none"],
    ]
    header, vcf = read_vcf(out["vcf"])
    assert header == [  # VCF 4.2: the meta-information keys are case-sensitive
        "##fileformat=VCFv4.2", "##source=basset.simulate",
        "##contig=<ID=chr1,length=10>", "##contig=<ID=chr2,length=8>", "##contig=<ID=chr3,length=5>",
        '##INFO=<ID=BLOCK,Number=1,Type=Integer,Description="Simulated LD block">',
        '##INFO=<ID=ROLE,Number=1,Type=String,Description="causal_break, causal_create, causal_outside_site or '
        'bystander">',
        '##INFO=<ID=PICS,Number=1,Type=Float,Description="Simulated PICS probability">',
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO"]
    assert vcf.values.tolist() == [
        ["chr1", "1", "snp000001", "G", "T", ".", "PASS", "BLOCK=0;ROLE=causal_create;PICS=0.9"],
        ["chr1", "10", "snp000002", "T", "A", ".", "PASS", "BLOCK=0;ROLE=bystander;PICS=0.1"],
        ["chr2", "1", "snp000003", "A", "C", ".", "PASS", "BLOCK=1;ROLE=causal_break;PICS=0.8"],
        ["chr2", "8", "snp000004", "C", "G", ".", "PASS", "BLOCK=1;ROLE=bystander;PICS=0.2"],
        ["chr3", "1", "snp000005", "C", "G", ".", "PASS", "BLOCK=2;ROLE=causal_outside_site;PICS=0.7"],
        ["chr3", "5", "snp000006", "C", "G", ".", "PASS", "BLOCK=2;ROLE=bystander;PICS=0.3"],
    ]
    assert [text[c][int(p) - 1] for c, p in zip(vcf["chrom"], vcf["pos"])] == vcf["ref"].tolist()
    pics = pd.read_csv(out["pics"], sep="\t")
    assert pics.values.tolist() == [
        ["Simulated_promoter_trait", "snp000002-A", "snp000001", "chr1", 1, 0.9, "none"],
        ["Simulated_promoter_trait", "snp000002-A", "snp000002", "chr1", 10, 0.1, "missense"],
        ["Simulated_decoy_trait", "snp000004-G", "snp000003", "chr2", 1, 0.8, "none"],
        ["Simulated_decoy_trait", "snp000004-G", "snp000004", "chr2", 8, 0.2, "utr3"],
        ["Simulated_intergenic_trait", "snp000006-G", "snp000005", "chr3", 1, 0.7, "none"],
        ["Simulated_intergenic_trait", "snp000006-G", "snp000006", "chr3", 5, 0.3, "none"],
    ]
    import pyBigWig

    bw = pyBigWig.open(str(out["phylop"]))
    try:
        vals = np.concatenate([bw.values(c, 0, len(s), numpy=True) for c, s in chroms.items()])
    finally:
        bw.close()
    assert np.isnan(vals[4]) and np.isnan(vals).sum() == 1  # the N of chr1
    np.testing.assert_array_equal(np.delete(vals, 4), np.delete(cons, 4))


@st.composite
def layouts(draw):
    """Chromosomes (their lengths), a FASTA line width, motif consensuses and non-overlapping instances."""
    lengths = draw(st.lists(st.integers(1, 30), min_size=1, max_size=4))
    width = draw(st.integers(1, 9))
    words = draw(st.lists(st.text("ACGT", min_size=1, max_size=7), min_size=1, max_size=3))
    placements, offset = [], 0
    for L in lengths:
        pos = 0
        while True:
            gap, f = draw(st.integers(0, 5)), draw(st.integers(0, len(words) - 1))
            if pos + gap + len(words[f]) > L:
                break
            placements.append((offset + pos + gap, f, draw(st.booleans())))
            pos += gap + len(words[f])
        offset += L
    background = draw(st.text("ACGTN", min_size=sum(lengths), max_size=sum(lengths)))
    return lengths, width, words, placements, background


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(layouts())
def test_planted_instances_are_retrievable(layout):
    """Whatever the chromosomes, line width, motifs and their places: the FASTA written holds at each truth row's
    [start, end) the consensus, reverse-complemented on the - strand; Planted.positions lists its bases in motif
    order; every instance scores its PWM's best."""
    lengths, width, words, placements, background = layout
    chroms, at = {}, 0
    for i, L in enumerate(lengths):
        chroms[f"chr{i + 1}"] = background[at : at + L]
        at += L
    state = small_state(chroms, width, {f"M{i}": w for i, w in enumerate(words)}, placements)
    truth = truth_motifs(state, np.array([f"site{i}" for i in range(len(placements))], dtype=object))
    with tempfile.TemporaryDirectory() as tmp:
        write_fasta(state, Path(tmp))
        fasta, lines = read_fasta(Path(tmp) / OUTPUTS["fasta"])
    assert [sum(x) for x in lines.values()] == lengths and all(max(x) <= width for x in lines.values())
    assert len(truth) == len(placements)
    chrom, local = to_local(state.genome, [p[0] for p in placements])
    for row, (gstart, f, minus), c, pos in zip(truth.itertuples(), placements, chrom, local):
        word = LUT[np.frombuffer(words[f].encode(), np.uint8)]
        assert (row.chrom, row.start, row.end, row.strand) == (c, pos, pos + word.size, "-" if minus else "+")
        window = fasta[row.chrom][row.start : row.end]
        np.testing.assert_array_equal(window, rc(word) if minus else word)
        np.testing.assert_array_equal(window, reverse_complement(word) if minus else word)
        bases = state.genome.seq[state.planted.positions(np.array([row.Index]), word.size)[0]]
        np.testing.assert_array_equal(3 - bases if minus else bases, word)
        assert row.match == 1.0
    # nothing but the instances changed
    changed = state.genome.seq != LUT[np.frombuffer(background.encode(), np.uint8)]
    covered = np.zeros(changed.size, bool)
    for gstart, f, _ in placements:
        covered[gstart : gstart + len(words[f])] = True
    assert not (changed & ~covered).any()


@settings(deadline=None)
@given(st.text("ACGTN", max_size=40))
def test_reverse_complement_is_an_involution_and_the_strand_convention(text):
    codes = LUT[np.frombuffer(text.encode(), np.uint8)]
    np.testing.assert_array_equal(reverse_complement(reverse_complement(codes)), codes)
    expected = text.translate(str.maketrans("ACGTN", "TGCAN"))[::-1]
    assert "".join("ACGTN"[x] for x in reverse_complement(codes)) == expected
    acgt = codes[codes < 4]
    np.testing.assert_array_equal(reverse_complement(acgt), rc(acgt))  # the 3 - code convention of the simulation


def test_stage_refuses_outputs_elsewhere(tmp_path):
    sheet = tmp_path / "samples.tsv"
    make_samples(tmp_path).to_csv(sheet, sep="\t", index=False)
    out = simulated_paths(tmp_path / "out", make_samples(tmp_path))
    out["peaks"] = [str(tmp_path / "mine.bed.gz")]
    with pytest.raises(ConfigError, match=r"simulate\.outdir: .*mine\.bed\.gz"):
        simulate_genome(samples=str(sheet), out=out, simulate=PARAMS)
    assert not (tmp_path / "out").exists()


def test_unknown_key_names_it(tmp_path):
    with pytest.raises(ConfigError, match=r"simulate\.genome\.gcc"):
        simulate(tmp_path, make_samples(tmp_path), {"genome": {"gcc": 0.4}}, progress=False)
    with pytest.raises(ConfigError, match=r"simulate\.nonsense"):
        simulate(tmp_path, make_samples(tmp_path), {"nonsense": 1}, progress=False)
    assert not list(tmp_path.rglob("*.gz"))


def test_slots_a_cooperative_pair_cannot_fill_are_refused(tmp_path):
    """A site of one slot cannot hold a cooperative pair (it was an IndexError); no slot at all is refused."""
    small = {"genome": {"size": 200_000, "chromosomes": 1}}
    with pytest.raises(ConfigError, match=r"simulate\.sites\.slots: cooperative\[0\] \(GATA1 \+ KLF1\)"):
        simulate(tmp_path, make_samples(tmp_path), {**small, "sites": {"slots": 1}}, progress=False)
    with pytest.raises(ConfigError, match=r"simulate\.sites: expected at least one slot"):
        simulate(tmp_path, make_samples(tmp_path), {**small, "sites": {"slots": 0}}, progress=False)


def test_group_not_a_program_names_sample(tmp_path):
    samples = make_samples(tmp_path)
    samples.loc["hep_2", "group"] = "neuron"
    with pytest.raises(BassetError, match=r"hep_2.*neuron"):
        simulate(tmp_path, samples, PARAMS, progress=False)


def test_schema_holds_every_default():
    """The schema is the one place of the defaults: every parameter has a default and a description (the
    simulation fixture reads every key but the three of PARAMS from there)."""
    import yaml

    schema = yaml.safe_load((ROOT / "src/basset/schemas/simulate.schema.yaml").read_text())
    props = schema["properties"]
    assert schema["additionalProperties"] is False
    # neutral: a config given with --configfile simulates only when it says so (issue 12)
    assert props["enabled"]["default"] is False and props["outdir"]["default"] == "resources/simulated"
    assert list(DEFAULTS) == [k for k in props if k not in ("enabled", "outdir")]
    for section, value in DEFAULTS.items():
        assert props[section].get("description"), section
        if isinstance(value, dict) and section != "programs":
            sub = props[section]["properties"]
            assert props[section]["additionalProperties"] is False
            assert set(sub) == set(value), section
            assert all("default" in sub[key] and sub[key]["description"] for key in sub), section
    assert DEFAULTS["programs"] and DEFAULTS["cooperative"]


def test_params_merge_like_the_workflow():
    """Nested sections merge key by key; programs and cooperative are replaced as a whole (as the workflow's
    schema validation leaves them); None means the default; a section that is no mapping is named."""
    p = simulate_params({"genome": {"size": 3_000_000}, "programs": {"neuron": ["NEUROD1"]}, "cooperative": [],
                         "peaks": None, "enabled": True, "outdir": "x"})
    assert p["genome"]["size"] == 3_000_000 and p["genome"]["gc"] == DEFAULTS["genome"]["gc"]
    assert p["programs"] == {"neuron": ["NEUROD1"]} and p["cooperative"] == []
    assert p["peaks"] == DEFAULTS["peaks"] and "enabled" not in p and "outdir" not in p
    assert list(p) == list(DEFAULTS)
    with pytest.raises(ConfigError, match=r"simulate\.genome: expected a mapping"):
        simulate_params({"genome": 5})


def test_sample_sheets():
    from basset.samples import read_sample_sheet

    full = read_sample_sheet(ROOT / "config/samples/simulated.tsv")
    assert len(full) == 21 and full["group"].value_counts().eq(3).all()
    assert set(full["group"]) == set(DEFAULTS["programs"])
    hot = full[full["format"] == "hotspot"]
    assert len(hot) == 3 and hot["group"].nunique() == 3
    assert all(p.startswith("resources/simulated/peaks/") for p in full["peaks"])
    tiny = read_sample_sheet(ROOT / "config/samples/tiny.tsv")
    assert len(tiny) == 6 and tiny["group"].value_counts().eq(2).all() and (tiny["format"] == "hotspot").sum() == 1
    assert all(p.startswith("resources/tiny/peaks/") for p in tiny["peaks"])
    # each sheet says the paths that the simulation derives (it never writes to a sheet's own paths)
    for sheet, outdir in ((full, "resources/simulated"), (tiny, "resources/tiny")):
        assert simulated_paths(outdir, sheet)["peaks"] == dict(zip(sheet["name"], sheet["peaks"]))


def test_check_programs_at_parse_time():
    """A sample whose group is no program failed inside simulate_genome (after the DAG was built) with
    ConfigError: simulate.programs: sample 'GM03348' has group ''."""
    from basset.simulate import check_programs

    samples = make_samples(Path("/nonexistent"))
    check_programs(samples, {"enabled": True, "outdir": "x"})
    samples.loc["hep_2", "group"] = ""
    with pytest.raises(ConfigError, match=r"simulate\.programs: sample 'hep_2' has group ''"):
        check_programs(samples, {"enabled": True})


def test_summary_lists_each_truth_tables_columns(case):
    """The summary's ``truth_columns`` (returned, and written to truth/simulation.json) names each truth table by its output key, with the
    columns of the file's header in order."""
    written = json.loads(case["out"]["summary"].read_text())["truth_columns"]
    assert written == case["summary"]["truth_columns"]
    assert written == {key: (case["out"][key]).read_text().split("\n", 1)[0].split("\t")
                       for key in ("sites", "motif_instances", "snps")}


def test_coding_annotation_marks_one_bystander_in_a_fraction_of_blocks():
    """1,000 blocks of one causal SNP and four bystanders: about 10 % of blocks get exactly one missense
    bystander, never the causal SNP; utr3/utr5 decoys fall only in the other blocks; the rest is none."""
    from basset.simulate.variants import coding_annotation

    n = 1000
    snps = pd.DataFrame({"block": np.repeat(np.arange(n), 5),
                         "role": np.tile(["causal_break", "bystander", "bystander", "bystander", "bystander"], n)})
    ann = coding_annotation(snps, np.random.default_rng(3), 0.1)
    assert set(ann) == {"none", "missense", "utr3", "utr5"}
    assert (ann[snps["role"].to_numpy() != "bystander"] == "none").all()
    per_block = pd.Series(ann == "missense").groupby(snps["block"]).sum()
    assert per_block.max() == 1 and 70 <= per_block.sum() <= 130  # Binomial(1000, 0.1): sd 9.5
    coding_blocks = set(per_block.index[per_block == 1])
    decoy_blocks = set(snps["block"][np.isin(ann, ["utr3", "utr5"])])
    assert decoy_blocks and not decoy_blocks & coding_blocks
    assert (coding_annotation(snps, np.random.default_rng(3), 0.0) == "none").all()


# ------------------------------------------------------------------------------------------------ DeepSEA-style rows
CHIP_PARAMS = {"genome": {"chromosomes": 2, "size": 1_500_000}, "accessibility": {"fraction": [0.25, 0.3]}}


def chip_sheet(rows) -> pd.DataFrame:
    """A sample sheet of (name, group, format, assay, cell, factor) rows; peaks where the simulation writes them."""
    df = pd.DataFrame(rows, columns=["name", "group", "format", "assay", "cell", "factor"])
    df.insert(1, "peaks", "")
    return df


CHIP_ROWS = [("ery_dnase", "erythroid", "narrowPeak", "dnase", "ery", ""),
             ("ery_gata1", "erythroid", "narrowPeak", "tf", "ery", "gata1"),  # case-insensitive factor
             ("ery_ctcf", "erythroid", "narrowPeak", "tf", "ery", "CTCF"),
             ("ery_k27ac", "erythroid", "bed", "histone", "ery", "H3K27ac"),
             ("ery_k4me3", "erythroid", "bed", "histone", "ery", "H3K4me3"),
             ("hep_dnase", "hepatocyte", "narrowPeak", "", "hep", ""),  # empty assay: dnase
             ("hep_ctcf", "hepatocyte", "narrowPeak", "tf", "hep", "CTCF")]


def _read_peaks(path) -> pd.DataFrame:
    """chrom, start, end of a gzipped peak file (no rows for an empty one: a factor that binds nowhere)."""
    with gzip.open(path, "rt") as fh:
        rows = [line.split("\t")[:3] for line in fh if line.strip()]
    return pd.DataFrame(rows, columns=["chrom", "start", "end"]).astype({"start": np.int64, "end": np.int64})


@pytest.fixture(scope="module")
def chip(tmp_path_factory):
    root = tmp_path_factory.mktemp("chip")
    sheet = chip_sheet(CHIP_ROWS)
    summary = simulate(root, sheet, CHIP_PARAMS, seed=5, progress=False)
    paths = simulated_paths(root, sheet)["peaks"]
    peaks = {n: _read_peaks(paths[n]) for n in sheet["name"]}
    sites = pd.read_csv(root / OUTPUTS["sites"], sep="\t")
    inst = pd.read_csv(root / OUTPUTS["motif_instances"], sep="\t")
    return {"root": root, "sheet": sheet, "summary": summary, "peaks": peaks, "sites": sites, "inst": inst}


def _covers(peaks: pd.DataFrame, chrom, pos) -> np.ndarray:
    """Whether each (chrom, pos) lies in one of ``peaks`` (a plain loop)."""
    out = []
    for c, p in zip(chrom, pos):
        sub = peaks[peaks["chrom"] == c]
        out.append(bool(((sub["start"] <= p) & (p < sub["end"])).any()))
    return np.array(out)


def test_rows_of_one_cell_share_its_accessibility(chip):
    """The truth has one accessibility column per cell (the `cell` column), not per row; a cell's DNase peaks are its
    open sites (plus the few false peaks), and the other rows of the cell follow the same column."""
    sites = chip["sites"]
    assert {"ery", "hep"} <= set(sites.columns) and not {"ery_dnase", "ery_gata1"} & set(sites.columns)
    assert set(chip["summary"]["accessible_fraction"]) == {"ery", "hep"}
    for cell in ("ery", "hep"):
        covered = _covers(chip["peaks"][f"{cell}_dnase"], sites["chrom"], sites["centre"])
        assert (covered == sites[cell].astype(bool)).mean() > 0.99


def test_tf_peaks_are_occupied_instances_of_their_factor_in_open_sites(chip):
    """Every TF peak but the false ones (summary) holds an instance of its factor (truth/motif_instances.tsv) whose
    site is open in the row's cell (truth/sites.tsv); no peak lies on a site closed in that cell."""
    sites, inst = chip["sites"].set_index("site"), chip["inst"]
    false = chip["summary"]["counts"]["false_peaks"]
    for row, cell, factor in (("ery_gata1", "ery", "GATA1"), ("ery_ctcf", "ery", "CTCF")):
        peaks = chip["peaks"][row]
        own = inst[inst["factor"].str.upper() == factor]
        mid = (own["start"] + own["end"]) // 2
        has_instance = np.array([bool(((own["chrom"] == c) & (s <= mid) & (mid < e)).any())
                                 for c, s, e in zip(peaks["chrom"], peaks["start"], peaks["end"])])
        assert has_instance.sum() >= len(peaks) - false[row] and len(peaks) > 20
        # the instances under a peak belong to sites open in the cell
        bound = own[_covers(peaks, own["chrom"], mid)]
        assert sites.loc[bound["site"], cell].all()
    widths = chip["peaks"]["ery_gata1"].eval("end - start")
    lo, hi = simulate_params(CHIP_PARAMS)["chip"]["tf_width"]
    assert widths.between(lo, hi).all()


def test_histone_domains_cover_open_sites_merged(chip):
    """H3K27ac domains: sorted, never overlapping each other (overlaps merged), covering most of the cell's open sites;
    H3K4me3 domains each over an open promoter, covering most of them and few closed promoters (those next to an
    open one)."""
    sites = chip["sites"]
    for row, cls in (("ery_k27ac", None), ("ery_k4me3", "promoter")):
        d = chip["peaks"][row]
        for _, sub in d.groupby("chrom"):
            assert (sub["start"].to_numpy()[1:] >= sub["end"].to_numpy()[:-1]).all()
        open_ = sites[sites["ery"] == 1]
        target = open_ if cls is None else open_[open_["class"] == cls]
        assert _covers(d, target["chrom"], target["centre"]).mean() > 0.8
        widths = d.eval("end - start")
        assert widths.min() >= simulate_params(CHIP_PARAMS)["chip"]["domain_width"][0] - 1
    k4 = chip["peaks"]["ery_k4me3"]
    open_promoters = sites[(sites["ery"] == 1) & (sites["class"] == "promoter")]
    for c, st_, en in zip(k4["chrom"], k4["start"], k4["end"]):  # each domain over an open promoter
        assert ((open_promoters["chrom"] == c) & open_promoters["centre"].between(st_, en - 1)).any()
    closed = sites[(sites["ery"] == 0) & (sites["class"] == "promoter")]  # only by a neighbour's domain
    assert _covers(k4, closed["chrom"], closed["centre"]).mean() < 0.15


def test_chip_rows_leave_the_dnase_peaks_unchanged(chip, tmp_path):
    """TF and histone rows draw from their own stream: the same sheet without them writes the same DNase files."""
    sheet = chip_sheet([r for r in CHIP_ROWS if r[3] in ("dnase", "")])
    simulate(tmp_path, sheet, CHIP_PARAMS, seed=5, progress=False)
    for name in sheet["name"]:
        mine = simulated_paths(tmp_path, sheet)["peaks"][name]
        theirs = simulated_paths(chip["root"], chip["sheet"])["peaks"][name]
        assert Path(mine).read_bytes() == Path(theirs).read_bytes()


@pytest.mark.parametrize("row, message", [
    (("x_tf", "erythroid", "narrowPeak", "tf", "x", "HNF4A"), r"tf sample 'x_tf' has factor 'HNF4A', which its "
                                                               r"simulation does not plant; expected one of GATA1"),
    (("x_h", "erythroid", "bed", "histone", "x", "H3K9me3"), r"histone sample 'x_h' has factor 'H3K9me3'; the "
                                                              r"simulation writes the marks H3K27ac, H3K4me3"),
    (("x_a", "erythroid", "bed", "atac", "x", ""), r"sample 'x_a' has assay 'atac'; the simulation writes dnase, tf, "
                                                   r"histone"),
    (("x_g", "hepatocyte", "bed", "dnase", "ery", ""), r"sample 'x_g' of cell 'ery' has group 'hepatocyte', another "
                                                        r"row of that cell 'erythroid'"),
])
def test_chip_rows_the_simulation_cannot_write_are_named(tmp_path, row, message):
    sheet = chip_sheet([CHIP_ROWS[0], row])
    with pytest.raises(ConfigError, match=message):
        simulate(tmp_path, sheet, CHIP_PARAMS, progress=False)


def test_a_tf_row_whose_factor_binds_nowhere_is_refused(tmp_path):
    """A factor that occupies no site of its cell would leave an empty peak file, which binning refuses: the
    simulation names the row, the factor's activity in the cell and the threshold instead."""
    sheet = chip_sheet(CHIP_ROWS[:2])
    with pytest.raises(ConfigError, match=r"tf sample 'ery_gata1': GATA1 occupies no site of cell 'ery' \(its "
                                          r"activity there is \d\.\d\d, simulate.chip.occupancy 50\)"):
        simulate(tmp_path, sheet, {**CHIP_PARAMS, "chip": {"occupancy": 50}}, progress=False)
