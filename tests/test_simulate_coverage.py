"""The simulation's coverage bigWigs (Basenji-style runs), read back against its truth tables: DNase-like reads pile
on the cell's open sites, CAGE-like reads on the TSSs of open promoters in proportion to a level recomputed here
from the truth with a plain loop over genes and enhancers; a sheet without a coverage column draws nothing new."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from basset.errors import ConfigError
from basset.layout import simulated_paths
from basset.simulate import simulate, simulate_params

pyBigWig = pytest.importorskip("pyBigWig")

PARAMS = {"genome": {"chromosomes": 2, "size": 600_000}, "accessibility": {"fraction": [0.25, 0.35]}}


def sheet(coverage: bool = True) -> pd.DataFrame:
    rows = [("ery_DNase", "erythroid", "dnase", "ery"), ("ery_CAGE", "erythroid", "cage", "ery"),
            ("mye_DNase", "myeloid", "dnase", "mye"), ("mye_CAGE", "myeloid", "cage", "mye")]
    frame = pd.DataFrame(rows, columns=["name", "group", "assay", "cell"])
    frame["peaks"], frame["format"] = "", "narrowPeak"
    if coverage:
        frame["coverage"] = ""
    return frame


@pytest.fixture(scope="module")
def simulated(tmp_path_factory):
    out = tmp_path_factory.mktemp("sim")
    simulate(out, sheet(), PARAMS, seed=5, progress=False)
    return out


def reads_around(path, chroms, centres, half: int) -> np.ndarray:
    bw = pyBigWig.open(str(path))
    return np.array([bw.stats(c, int(x) - half, int(x) + half, type="sum", exact=True)[0] or 0.0
                     for c, x in zip(chroms, centres)])


def loop_levels(sites: pd.DataFrame, cell: str, p: dict) -> np.ndarray:
    """The outside reference: each promoter's CAGE level from the truth table, one gene and one enhancer at a time."""
    programs = ~sites["class"].isin(["promoter", "constitutive", "decoy"])
    out = []
    for _, gene in sites[sites["class"] == "promoter"].iterrows():
        if not gene[cell]:
            out.append(0.0)
            continue
        total = 0.0
        for _, enh in sites[programs & (sites["chrom"] == gene["chrom"])].iterrows():
            d = abs(enh["centre"] - gene["centre"])
            if d <= p["enhancer_distance"] and enh[cell]:
                total += np.exp(-d / p["enhancer_scale"])
        out.append(p["promoter_base"] + p["enhancer_weight"] * max(total - p["enhancer_threshold"], 0.0))
    return np.array(out)


def test_cage_reads_follow_open_promoters_and_their_enhancers(simulated):
    sites = pd.read_csv(simulated / "truth/sites.tsv", sep="\t")
    p = simulate_params(PARAMS)["coverage"]
    paths = simulated_paths(simulated, sheet())["coverage"]
    prom = sites[sites["class"] == "promoter"]
    for cell in ("ery", "mye"):
        want = loop_levels(sites, cell, p)
        got = reads_around(paths[f"{cell}_CAGE"], prom["chrom"], prom["centre"], 100)
        assert np.corrcoef(want, got)[0, 1] > 0.95
        # reads per unit level as the parameters say (a Gaussian of sd 25 bp keeps all but 6e-5 within 100 bp)
        on = want > 0
        assert np.median(got[on] / want[on]) == pytest.approx(p["cage_reads"], rel=0.15)
        assert got[~on].mean() < 2  # closed promoters, or too few open enhancers: background only (0.002 reads/bp)
        silent = (want == 0) & (sites.loc[prom.index, cell] == 1).to_numpy()
        assert silent.any() and on.sum() > 20  # open promoters without enough enhancer input stay silent


def test_dnase_reads_pile_on_the_cells_open_sites(simulated):
    sites = pd.read_csv(simulated / "truth/sites.tsv", sep="\t")
    paths = simulated_paths(simulated, sheet())["coverage"]
    for cell in ("ery", "mye"):
        reads = reads_around(paths[f"{cell}_DNase"], sites["chrom"], sites["centre"], 60)
        open_, closed = reads[sites[cell] == 1], reads[sites[cell] == 0]
        assert np.median(open_) > 10 * max(np.median(closed), 1.0)


def test_the_bigwigs_hold_integer_counts_as_bedgraph_runs(simulated):
    bw = pyBigWig.open(simulated_paths(simulated, sheet())["coverage"]["ery_DNase"])
    chrom, size = next(iter(bw.chroms().items()))
    intervals = bw.intervals(chrom)
    values = np.array([v for _, _, v in intervals])
    assert (values == np.round(values)).all() and (values > 0).all()
    ends, starts = np.array([e for _, e, _ in intervals[:-1]]), np.array([s for s, _, _ in intervals[1:]])
    assert (starts >= ends).all() and intervals[-1][1] <= size


def test_a_sheet_without_a_coverage_column_writes_the_same_files_as_before(tmp_path, simulated):
    """The coverage draws have their own stream: the peak files of a sheet without coverage are those of the same
    sheet with it, and no coverage folder is written."""
    simulate(tmp_path, sheet(coverage=False), PARAMS, seed=5, progress=False)
    assert not (tmp_path / "coverage").exists()
    for name, path in simulated_paths(tmp_path, sheet(False))["peaks"].items():
        assert open(path, "rb").read() == open(simulated_paths(simulated, sheet())["peaks"][name], "rb").read()


def test_a_coverage_sheet_takes_dnase_and_cage_rows_only(tmp_path):
    bad = sheet()
    bad.loc[0, "assay"] = "tf"
    bad.loc[0, "factor"] = "GATA1"
    with pytest.raises(ConfigError, match="ery_DNase.*coverage tracks of dnase and cage rows only"):
        simulate(tmp_path, bad, PARAMS, seed=5, progress=False)
