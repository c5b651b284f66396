"""Tests of basset.simulate: the truth agrees with the files, the files parse, runs are reproducible; and of the
stage basset.stages.simulate.simulate_genome."""

from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from basset.errors import BassetError, ConfigError
from basset.jaspar import load_motifs
from basset.sequence import encode
from basset.simulate import (
    OUTPUTS,
    pwm_tables,
    simulate,
    simulate_params,
    simulated_paths,
)
from basset.stages.simulate import simulate_genome

ROOT = Path(__file__).resolve().parents[1]
PARAMS = {"genome": {"size": 1_500_000, "chromosomes": 2}, "variants": {"blocks_per_mb": 10}}
GROUPS = {"ery": "erythroid", "mye": "myeloid", "hep": "hepatocyte"}
#: the defaults of every simulation parameter: the schema's
DEFAULTS = simulate_params(None)


def make_samples(root: Path) -> pd.DataFrame:
    rows = []
    for prefix, group in GROUPS.items():
        for i in (1, 2):
            name = f"{prefix}_{i}"
            fmt = "hotspot" if name == "mye_2" else "narrowPeak"
            rows.append(
                {"name": name, "peaks": str(root / "peaks" / f"{name}.{fmt}.gz"), "group": group, "format": fmt}
            )
    return pd.DataFrame(rows).set_index("name", drop=False)


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    root = tmp_path_factory.mktemp("sim")
    samples = make_samples(root)
    summary = simulate(root / "out", samples, PARAMS, seed=7, progress=False)
    out = {k: root / "out" / v for k, v in OUTPUTS.items()}
    # the peak files lie where simulated_paths derives them in outdir, never at the sheet's `peaks` paths
    derived = simulated_paths(root / "out", samples)["peaks"]
    samples = samples.assign(given=samples["peaks"], peaks=[derived[n] for n in samples["name"]])
    return {"root": root, "samples": samples, "summary": summary, "out": out}


@pytest.fixture(scope="module")
def genome(sim):
    import pyfaidx

    fa = pyfaidx.Fasta(str(sim["out"]["fasta"]), as_raw=True)
    seqs = {name: encode(fa[name][:]) for name in fa.keys()}
    fa.close()
    return seqs


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


def score_windows(seq: np.ndarray, starts: np.ndarray, lo: np.ndarray, minus: np.ndarray) -> np.ndarray:
    L = lo.shape[0]
    w = seq[starts[:, None] + np.arange(L)[None]]
    w = np.where(minus[:, None], 3 - w[:, ::-1], w)
    ok = (w < 4).all(1)
    return np.where(ok, lo[np.arange(L)[None], np.minimum(w, 3)].sum(1), -np.inf)


def read_all(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_outputs_and_summary(sim):
    for key, path in sim["out"].items():
        assert path.is_file() and path.stat().st_size > 0, key
    for row in sim["samples"].itertuples():
        assert Path(row.peaks).is_file() and Path(row.peaks).parent == sim["root"] / "out" / "peaks"
        assert not Path(row.given).exists()  # a sheet's path is never written (issue 12: user data safety)
    saved = json.loads(sim["out"]["summary"].read_text())
    assert saved["seed"] == 7
    assert saved["jaspar_release"] == "JASPAR2026"
    assert saved["factors"]["CTCF"] == "MA0139.2" and saved["factors"]["GATA1"].startswith("MA0035")
    assert saved["factor_names"]["SPI1"] == "Spi1"  # case-insensitive match to the mouse name
    assert saved["counts"]["genome_bp"] == sum(
        int(line.split("\t")[1]) for line in sim["out"]["chrom_sizes"].read_text().splitlines()
    )
    assert saved["accessible_fraction"] == sim["summary"]["accessible_fraction"]
    assert not list((sim["root"] / "out").glob(".stage-*")), "temporary directory left behind"


def test_fasta_index_and_composition(sim, genome, tables):
    fai = [line.split("\t") for line in sim["out"]["fai"].read_text().splitlines()]
    sizes = dict(line.split("\t") for line in sim["out"]["chrom_sizes"].read_text().splitlines())
    assert [f[0] for f in fai] == list(genome) == list(sizes)
    for f in fai:
        assert int(f[1]) == genome[f[0]].size == int(sizes[f[0]])
    allseq = np.concatenate(list(genome.values()))
    acgt = allseq[allseq < 4]
    gc = np.isin(acgt, (1, 2)).mean()
    assert 0.37 < gc < 0.45
    assert 0.003 < (allseq == 4).mean() < 0.03  # N gaps

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
    text = sim["out"]["fasta"].read_text().splitlines()
    assert max(len(x) for x in text if not x.startswith(">")) == DEFAULTS["genome"]["line_width"]
    assert all(x.startswith(">") or x == x.upper() for x in text[:50])


def test_motifs_planted_where_truth_says(genome, tables):
    inst = tables["inst"]
    rng = np.random.default_rng(0)
    for factor, grp in inst.groupby("factor"):
        lo = tables["pwm"][factor][1]
        scores = np.concatenate(
            [
                score_windows(genome[c], g["start"].to_numpy(), lo, (g["strand"] == "-").to_numpy())
                for c, g in grp.groupby("chrom")
            ]
        )
        order = np.concatenate([g.index.to_numpy() for _, g in grp.groupby("chrom")])
        np.testing.assert_allclose(scores, inst.loc[order, "score"].to_numpy(), atol=1e-3)
        assert (grp["end"] - grp["start"] == lo.shape[0]).all()
        seq = genome["chr1"]
        bg = score_windows(seq, rng.integers(0, seq.size - 50, 2000), lo, rng.random(2000) < 0.5)
        bg = bg[np.isfinite(bg)]
        strong = inst.loc[order, "match"].to_numpy() > 0.5  # decoys and create-SNP targets are weaker
        assert np.median(scores[strong]) > np.quantile(bg, 0.99), factor


def test_accessible_fraction_in_range(sim, tables):
    lo, hi = DEFAULTS["accessibility"]["fraction"]
    acc = tables["sites"][list(GROUPS_CELLS(sim))]
    frac = acc.mean()
    assert ((frac >= lo - 1e-3) & (frac <= hi + 1e-3)).all(), frac
    assert frac.round(6).to_dict() == sim["summary"]["accessible_fraction"]
    # decoys are (almost) never accessible; promoters often are
    by_class = tables["sites"].groupby("class")[list(acc.columns)].mean().mean(axis=1)
    assert by_class["decoy"] < 0.05 < by_class["erythroid"]
    assert by_class["promoter"] > 0.3


def GROUPS_CELLS(sim):
    return sim["samples"]["name"].tolist()


def test_siblings_share_more_sites(sim, tables):
    acc = tables["sites"][GROUPS_CELLS(sim)].to_numpy().astype(bool)
    names = GROUPS_CELLS(sim)
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


def test_peak_files_parse_and_sit_on_sites(sim, tables):
    import pybedtools

    sites = tables["sites"]
    for row in sim["samples"].itertuples():
        bt = pybedtools.BedTool(row.peaks)
        n_fields = 5 if row.format == "hotspot" else 10
        ivs = list(bt)
        assert all(len(iv.fields) == n_fields for iv in ivs)
        df = pd.read_csv(row.peaks, sep="\t", header=None)
        assert len(df) == sim["summary"]["counts"]["peaks"][row.name]
        assert ((df[2] - df[1] >= 20) & (df[2] - df[1] <= DEFAULTS["peaks"]["width"][1])).all()
        assert df[4].between(0, 1000).all()
        assert (df.groupby(0)[1].apply(lambda s: s.is_monotonic_increasing)).all()  # sorted
        if row.format == "narrowPeak":
            assert (df[5] == ".").all() and (df[9] >= 0).all() and (df[9] < df[2] - df[1]).all()
            mid = df[1] + df[9]
        else:
            mid = (df[1] + df[2]) // 2
        # most peaks are centred near an accessible site of this cell; the rest are the false peaks
        acc = sites[sites[row.name] == 1]
        near = 0
        for chrom, g in df.assign(mid=mid).groupby(0):
            c = np.sort(acc.loc[acc["chrom"] == chrom, "centre"].to_numpy())
            i = np.clip(np.searchsorted(c, g["mid"].to_numpy()), 1, c.size - 1)
            d = np.minimum(np.abs(g["mid"].to_numpy() - c[i - 1]), np.abs(g["mid"].to_numpy() - c[i]))
            near += (d < (100 if row.format == "narrowPeak" else 150)).sum()
        n_false = sim["summary"]["counts"]["false_peaks"][row.name]
        assert len(df) - n_false == len(acc)  # one peak per accessible site, plus the false peaks
        assert len(df) - n_false <= near <= len(df) - n_false // 2
        assert n_false > 0
    with gzip.open(sim["samples"]["peaks"].iloc[0], "rb") as fh:
        assert fh.read(5).startswith(b"chr")


def test_genes_gtf(sim, tables):
    import pybedtools

    gtf = list(pybedtools.BedTool(str(sim["out"]["genes"])))
    feats = {iv.fields[2] for iv in gtf}
    assert feats == {"gene", "transcript", "exon"}
    genes = [iv for iv in gtf if iv.fields[2] == "gene"]
    assert {iv.strand for iv in genes} == {"+", "-"}
    assert all("gene_id" in iv.attrs and "gene_name" in iv.attrs for iv in genes)
    assert all("transcript_id" in iv.attrs for iv in gtf if iv.fields[2] != "gene")
    # every promoter site sits at a TSS (0-based TSS = GTF start - 1 on +, GTF end - 1 on -)
    tss = {(iv.chrom, iv.start if iv.strand == "+" else iv.end - 1) for iv in genes}
    prom = tables["sites"][tables["sites"]["class"] == "promoter"]
    assert len(prom) == len(genes)
    assert {(c, int(x)) for c, x in zip(prom["chrom"], prom["centre"])} == tss
    # exons lie inside their gene
    span = {iv.attrs["gene_id"]: (iv.start, iv.end) for iv in genes}
    for iv in gtf:
        if iv.fields[2] == "exon":
            s, e = span[iv.attrs["gene_id"]]
            assert s <= iv.start < iv.end <= e


def test_conservation_bigwig(sim, genome, tables):
    import pyBigWig

    bw = pyBigWig.open(str(sim["out"]["phylop"]))
    assert bw.chroms() == {c: s.size for c, s in genome.items()}
    inst = tables["inst"]
    c1 = inst[inst["chrom"] == "chr1"]
    vals = bw.values("chr1", 0, genome["chr1"].size, numpy=True)
    isn = genome["chr1"] == 4
    assert np.isnan(vals[isn]).all() and not np.isnan(vals[~isn]).any()
    motif_pos = np.unique((c1["start"].to_numpy()[:, None] + np.arange(7)[None]).ravel())
    mask = np.ones(vals.size, bool)
    mask[motif_pos] = False
    bg = vals[mask & ~isn]
    assert abs(bg.mean()) < 0.05 and 0.4 < bg.std() < 0.8
    assert vals[motif_pos].mean() > bg.mean() + 1.0
    bw.close()


def test_variants(sim, genome, tables):
    snps, inst = tables["snps"], tables["inst"]
    # VCF: sorted, REF = genome base everywhere, same SNPs as the truth
    with gzip.open(sim["out"]["vcf"], "rt") as fh:
        lines = fh.read().splitlines()
    assert lines[0] == "##fileformat=VCFv4.2"
    body = [line.split("\t") for line in lines if not line.startswith("#")]
    chrom_order = list(genome)
    keys = [(chrom_order.index(b[0]), int(b[1])) for b in body]
    assert keys == sorted(keys) and len(set(keys)) == len(keys)
    for b in body:
        assert "ACGT"[genome[b[0]][int(b[1]) - 1]] == b[3] != b[4]
    assert [b[2] for b in body] == snps["id"].tolist()
    # every causal break/create SNP is inside a planted instance of its factor, at an informative position
    roles = snps["role"].value_counts()
    assert roles["causal_break"] > 0 and roles["causal_create"] > 0 and roles["bystander"] > 0
    for s in snps[snps["role"].isin(["causal_break", "causal_create"])].itertuples():
        hit = inst[
            (inst["chrom"] == s.chrom)
            & (inst["start"] < s.pos)
            & (inst["end"] >= s.pos)
            & (inst["factor"] == s.factor)
            & (inst["site"] == s.site)
        ]
        assert len(hit) == 1, s
        h = hit.iloc[0]
        prob, lo, ic = tables["pwm"][s.factor]
        j = (s.pos - 1 - h.start) if h.strand == "+" else (h.end - s.pos)
        assert ic[j] > 1.0
        ref, alt = "ACGT".index(s.ref), "ACGT".index(s.alt)
        if h.strand == "-":
            ref, alt = 3 - ref, 3 - alt
        if s.role == "causal_break":
            assert lo[j, alt] < lo[j, ref]
            assert tables["sites"].set_index("site").loc[s.site, GROUPS_CELLS(sim)].any()
        else:
            assert lo[j, alt] > lo[j, ref]
    # bystanders and outside-site causal SNPs are off every motif
    off = snps[snps["role"].isin(["bystander", "causal_outside_site"])]
    for chrom, g in off.groupby("chrom"):
        ci = inst[inst["chrom"] == chrom]
        inside = (ci["start"].to_numpy()[None] < g["pos"].to_numpy()[:, None]) & (
            ci["end"].to_numpy()[None] >= g["pos"].to_numpy()[:, None]
        )
        assert not inside.any()
    # PICS: one likely-causal SNP per block, bystanders small, sums near 1
    pics = pd.read_csv(sim["out"]["pics"], sep="\t")
    assert list(pics.columns) == ["Disease", "IndexSNP_riskAllele", "SNP", "chr", "pos", "PICS_probability"]
    merged = pics.merge(snps, left_on="SNP", right_on="id")
    assert (merged["pos_x"] == merged["pos_y"]).all()
    causal = merged["role_is_causal"] = merged["role"] != "bystander"
    assert (merged.loc[causal, "PICS_probability"] >= 0.5).all()
    assert (merged.loc[~causal, "PICS_probability"] <= 0.05).all()
    assert (merged.groupby("block")["role_is_causal"].sum() == 1).all()
    sums = merged.groupby("block")["PICS_probability"].sum()
    assert sums.between(0.85, 1.001).all(), sums.describe()
    span = merged.groupby("block")["pos_x"].agg(lambda s: s.max() - s.min())
    assert span.max() <= DEFAULTS["variants"]["block_kb"][1] * 1000


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
