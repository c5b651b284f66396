"""Filter PWMs, MEME files, information content, logos, Tomtom dispatch and the motif stage (basset.motifs,
basset.memefile, basset.tomtom, basset.stages.motifs)."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import SHARED_REFERENCE

from basset import motifs as M
from basset import tomtom as T
from basset.errors import InputError
from basset.memefile import Motif, read_meme, write_meme
from basset.metrics import bh_qvalues
from basset.models import build_model
from basset.plots.logos import write_filter_logos
from basset.sequence import encode
from basset.stages.motifs import factor_recovery, similar_matrices

CISBP = SHARED_REFERENCE / "cisbp_Homo_sapiens.meme"
GATA, TTAG = "GATA", "TTAG"
pytestmark = pytest.mark.filterwarnings("ignore:Using padding=.same. with even kernel")


def _word_model(words, padding="same"):
    """A one-layer net whose filter k fires (activation exactly 1) only on ``words[k]``."""
    cfg = {"seq_len": 50, "conv_filters": [len(words)], "conv_widths": [4], "conv_pools": [1],
           "conv_dropout": 0.0, "dense_units": [4], "dense_dropout": 0.0, "batch_norm": False,
           "conv_padding": padding}
    model = build_model(cfg, 1)
    conv = model.conv[0][0]
    with torch.no_grad():
        w = -torch.ones_like(conv.weight)  # (F, 4, 4)
        for k, word in enumerate(words):
            w[k, torch.as_tensor(encode(word).astype(np.int64)), torch.arange(4)] = 1.0
        conv.weight.copy_(w)
        conv.bias.fill_(-3.0)
    return model


def _planted(n_seq=30, length=50, gata_per_seq=2, ttag_total=5):
    """C-only background (neither word can arise by chance) with GATA at known places, incl. both ends."""
    codes = np.full((n_seq, length), 1, dtype=np.uint8)
    sites = []
    for s in range(n_seq):
        for p in ([0, length - 4] if s == 0 else [5 + s % 10, 30 + s % 7])[:gata_per_seq]:
            codes[s, p:p + 4] = encode(GATA)
            sites.append((s, p))
    for s in range(ttag_total):
        codes[s + 1, 20:24] = encode(TTAG)
    codes[2, 45] = 4  # an N somewhere harmless
    return codes, sites


@pytest.mark.parametrize("padding", ["same", "valid"])
def test_filter_pwms_planted_word(padding):
    codes, sites = _planted()
    res = M.filter_pwms(_word_model([GATA, TTAG], padding), codes, batch_size=7)
    assert res.nsites.tolist() == [len(sites), 5]
    expected = np.zeros((4, 4))
    expected[np.arange(4), encode(GATA)] = len(sites)
    np.testing.assert_array_equal(res.counts[0], expected)
    np.testing.assert_allclose(res.pwms[0], (expected + 1) / (len(sites) + 4))
    assert res.pwms[1] is None  # 5 sites < 10
    # information by hand: each column holds its base at (n+1)/(n+4), the other three at 1/(n+4)
    n, bg = len(sites), M.GC_BACKGROUND
    hi, lo = (n + 1) / (n + 4), 1 / (n + 4)
    ic = sum(hi * np.log2(hi / bg[b]) + sum(lo * np.log2(lo / bg[o]) for o in range(4) if o != b)
             for b in encode(GATA))
    assert res.ic[0] == pytest.approx(ic) and np.isnan(res.ic[1])
    # activation is exactly 1 on the word and 0 elsewhere: max 1, mean = sites / positions
    positions = codes.shape[0] * (codes.shape[1] if padding == "same" else codes.shape[1] - 3)
    np.testing.assert_allclose(res.max, [1.0, 1.0])
    np.testing.assert_allclose(res.mean, [n / positions, 5 / positions])
    np.testing.assert_allclose(res.thresholds, 0.5 * (1.0 - res.mean) + res.mean)
    assert M.consensus(res.pwms[0]) == GATA
    table = M.filter_table(res)
    assert list(table.columns) == ["filter", "nsites", "ic", "consensus", "threshold"]
    assert table["filter"].tolist() == ["filter0", "filter1"] and table.nsites.tolist() == [n, 5]
    assert table.consensus.tolist() == [GATA, ""] and table.ic[0] == round(ic, 4) and np.isnan(table.ic[1])
    np.testing.assert_allclose(table.threshold, res.thresholds)
    motifs = res.motifs()
    assert [m.id for m in motifs] == ["filter0"] and motifs[0].nsites == n
    np.testing.assert_array_equal(motifs[0].pwm, res.pwms[0])


def test_filter_pwms_threshold_and_min_sites():
    codes, sites = _planted()
    res = M.filter_pwms(_word_model([GATA, TTAG]), codes, min_sites=5, pseudocount=0.0)
    assert res.pwms[1] is not None and M.consensus(res.pwms[1]) == TTAG
    np.testing.assert_array_equal(res.pwms[1], np.eye(4)[encode(TTAG)])  # no pseudocount: one-hot
    assert M.filter_pwms(_word_model([GATA, TTAG]), codes, min_sites=6).pwms[1] is None  # 5 sites < 6
    # a threshold of 1 keeps only windows above the maximum: none
    none = M.filter_pwms(_word_model([GATA, TTAG]), codes, threshold=1.0, min_sites=1)
    assert none.nsites.tolist() == [0, 0] and none.pwms == [None, None]
    # threshold 0 keeps every window above the mean: still exactly the planted words
    zero = M.filter_pwms(_word_model([GATA, TTAG]), codes, threshold=0.0, min_sites=1)
    assert zero.nsites.tolist() == [len(sites), 5]
    np.testing.assert_allclose(zero.thresholds, zero.mean)


def test_information_content():
    uniform = np.full((1, 4), 0.25)
    assert M.information_content(uniform, (0.25,) * 4) == pytest.approx(0.0)
    bg = M.GC_BACKGROUND
    for b in range(4):
        col = np.eye(4)[[b]]
        assert M.information_content(col, bg) == pytest.approx(np.log2(1 / bg[b]))
    assert M.information_content(np.eye(4), (0.25,) * 4) == pytest.approx(8.0)
    assert M.background_from_gc(0.415) == pytest.approx(bg)
    pwm = np.vstack([uniform, np.eye(4)[[0, 2]], uniform])
    np.testing.assert_array_equal(M.trim_pwm(pwm, 0.5), pwm[1:3])
    np.testing.assert_array_equal(M.trim_pwm(pwm, 0.0), pwm)
    # an uninformative column between informative ones is kept; nothing above min_ic keeps the best column
    gapped = np.vstack([uniform, np.eye(4)[[0]], uniform, np.eye(4)[[3]], uniform])
    np.testing.assert_array_equal(M.trim_pwm(gapped, 0.5), gapped[1:4])
    weak = np.vstack([uniform, [[0.4, 0.2, 0.2, 0.2]], [[0.3, 0.2, 0.2, 0.3]]])
    np.testing.assert_array_equal(M.trim_pwm(weak, 1.9), weak[1:2])
    assert M.consensus(np.array([[0.6, 0.2, 0.1, 0.1], [0.1, 0.4, 0.3, 0.2]])) == "Ac"


def _random_motifs(n, rng, width=(8, 14), prefix="T"):
    out = []
    for k in range(n):
        w = int(rng.integers(*width))
        out.append(Motif(f"{prefix}{k}", f"name{k}", rng.dirichlet(np.full(4, 0.3), size=w), 20.0))
    return out


def test_meme_round_trip(tmp_path):
    rng = np.random.default_rng(1)
    motifs = _random_motifs(5, rng)
    motifs[1].url = "http://example.org/m1"
    path = tmp_path / "m.meme"
    write_meme(path, motifs, background=M.GC_BACKGROUND)
    back = read_meme(path)
    assert [m.id for m in back] == [m.id for m in motifs]
    assert [m.name for m in back] == [m.name for m in motifs]
    assert back[1].url == "http://example.org/m1" and back[0].url is None
    for a, b in zip(motifs, back):
        np.testing.assert_allclose(a.pwm, b.pwm, atol=2e-6)
        np.testing.assert_allclose(b.pwm.sum(1), 1.0)
        assert b.nsites == 20


def test_meme_errors_name_line(tmp_path):
    path = tmp_path / "bad.meme"
    path.write_text("MEME version 4\n\nALPHABET= ACGT\n\nMOTIF m1 one\n"
                    "letter-probability matrix: alength= 4 w= 2 nsites= 3\n0.1 0.2 0.3 0.4\n0.5 0.5 x 0\n")
    with pytest.raises(InputError, match=r"bad\.meme:8:"):
        read_meme(path)
    path.write_text("MOTIF m1\nletter-probability matrix: alength= 4 w= 3\n0.1 0.2 0.3 0.4\n0.2 0.2 0.3\n")
    with pytest.raises(InputError, match=r":4: expected 4 probabilities"):
        read_meme(path)
    path.write_text("MOTIF m1\nletter-probability matrix: alength= 4 w= 3\n0.1 0.2 0.3 0.4\n\nMOTIF m2\n")
    with pytest.raises(InputError, match=r":2: .*w= 3 but 1"):
        read_meme(path)
    path.write_text("nothing here\n")
    with pytest.raises(InputError, match="no MOTIF"):
        read_meme(path)


@pytest.mark.skipif(not CISBP.exists(), reason=f"{CISBP} is not present (shared reference data)")
def test_read_cisbp(tmp_path):
    motifs = read_meme(CISBP)
    assert len(motifs) == 734
    widths = [int(line.split("w=")[1].split()[0]) for line in CISBP.read_text().splitlines()
              if line.startswith("letter-probability")]
    assert [m.width for m in motifs] == widths
    assert motifs[0].id == "M0085_1.02" and "TFAP2E" in motifs[0].name
    assert motifs[0].url.startswith("http://cisbp")
    write_meme(tmp_path / "c.meme", motifs)
    back = read_meme(tmp_path / "c.meme")
    assert [m.id for m in back] == [m.id for m in motifs]
    np.testing.assert_allclose(np.vstack([m.pwm for m in back]), np.vstack([m.pwm for m in motifs]), atol=1e-5)


def test_tomtom_memelite_self_match_and_reverse_complement():
    rng = np.random.default_rng(3)
    targets = _random_motifs(40, rng)
    query = Motif("q", "q", targets[7].pwm)
    rc = Motif("rc", "rc", targets[7].pwm[::-1, ::-1])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # 40 targets: no small-database warning
        table = T.tomtom_all([query, rc], targets, engine="memelite")
    assert list(table.columns) == T.TOMTOM_COLUMNS
    assert len(table) == 2 * 40
    assert (table.engine == "memelite").all() and (table.distance == "euclidean").all()
    self_hit = table[(table["filter"] == "q") & (table.target_id == "T7")].iloc[0]
    assert self_hit.q < 1e-3 and self_hit.offset == 0 and self_hit.orientation == "+"
    assert self_hit.overlap == targets[7].width and self_hit.target_name == "name7"
    assert self_hit.E == pytest.approx(self_hit.p * 40)
    rc_hit = table[(table["filter"] == "rc") & (table.target_id == "T7")].iloc[0]
    assert rc_hit.q < 1e-3 and rc_hit.orientation == "-" and rc_hit.offset == 0
    # the two queries are the same motif on the two strands: the same p-values against every target (up to
    # memelite's approximate, binned medians, which are not exactly strand-symmetric: a few per cent)
    by = table.set_index(["filter", "target_id"]).p
    np.testing.assert_allclose(by["rc"].to_numpy(), by["q"].to_numpy(), rtol=0.05)
    # tomtom(): exactly the rows of tomtom_all with q < thresh, by query order ("rc" before "q"), then q
    hits = T.tomtom([rc, query], targets, engine="memelite", thresh=0.1)
    expected = table[table.q < 0.1]
    assert len(hits) == len(expected) >= 2 and "T7" in set(hits.target_id)
    assert sorted(zip(hits["filter"], hits.target_id)) == sorted(zip(expected["filter"], expected.target_id))
    assert hits["filter"].tolist() == sorted(hits["filter"], key=["rc", "q"].index)
    for _, rows in hits.groupby("filter"):
        assert rows.q.is_monotonic_increasing


def test_bh_qvalues_matches_reference():
    p = np.array([[0.01, 0.04, 0.03, 0.5, 0.2]])
    # reference: sorted p * n / rank with a cumulative minimum from the top
    expected = np.array([[0.05, 0.2 / 3, 0.2 / 3, 0.5, 0.25]])
    np.testing.assert_allclose(bh_qvalues(p), expected)


def test_parse_meme_tomtom_text():
    text = ("Query_ID\tTarget_ID\tOptimal_offset\tp-value\tE-value\tq-value\tOverlap\tQuery_consensus\t"
            "Target_consensus\tOrientation\n"
            "filter3\tMA0035.5\t-2\t1e-05\t0.0102\t0.0204\t8\tAGATAAGG\tAGATAA\t+\n"
            "filter9\tMA0139.2\t1\t0.002\t2.0\t0.4\t12\tCCGCG\tCCGCGNGG\t-\n\n"
            "# Tomtom (Motif Comparison Tool): Version 5.5.5\n")
    targets = {"MA0035.5": Motif("MA0035.5", "GATA1", np.full((2, 4), 0.25))}
    table = T.parse_tomtom_text(text, targets)
    assert list(table.columns) == T.TOMTOM_COLUMNS
    assert table["filter"].tolist() == ["filter3", "filter9"]
    assert table.target_name.tolist() == ["GATA1", "MA0139.2"]
    assert table.offset.tolist() == [-2, 1] and table.orientation.tolist() == ["+", "-"]
    assert table.p.tolist() == [1e-05, 0.002] and table.E.tolist() == [0.0102, 2.0]
    assert table.q.tolist() == [0.0204, 0.4]
    assert table.overlap.tolist() == [8, 12]
    assert (table.engine == "meme").all() and (table.distance == "pearson").all()
    # MEME 4: a "#Query ID" header with spaces; ids that look like numbers stay strings
    old = ("#Query ID\tTarget ID\tOptimal offset\tp-value\tE-value\tq-value\tOverlap\tQuery consensus\t"
           "Target consensus\tOrientation\n007\tMA0035.5\t0\t0.5\t1\t1\t4\tGATA\tGATA\t+\n")
    table4 = T.parse_tomtom_text(old, targets, dist="ed")
    assert table4["filter"].tolist() == ["007"] and table4.target_name.tolist() == ["GATA1"]
    assert table4.p.tolist() == [0.5] and (table4.distance == "ed").all()
    empty = T.parse_tomtom_text("# Tomtom: no matches\n", targets)
    assert list(empty.columns) == T.TOMTOM_COLUMNS and empty.empty


def test_resolve_engine(monkeypatch):
    monkeypatch.setattr(T.shutil, "which", lambda name: None)
    assert T.resolve_engine("auto") == "basset"
    assert T.resolve_engine("memelite") == "memelite"
    monkeypatch.setattr(T.shutil, "which", lambda name: "/usr/bin/tomtom")
    assert T.resolve_engine("auto") == "meme"
    with pytest.raises(ValueError):
        T.resolve_engine("blast")


def test_factor_recovery():
    hits = pd.DataFrame({"filter": ["f1", "f2"], "target_id": ["MA1", "MA9"], "target_name": ["GATA1", "Elk4"],
                         "q": [0.01, 0.05]})
    jaspar = pd.DataFrame({"matrix_id": ["MA1", "MA2", "MA3", "MA9"], "name": ["GATA1", "ETS1", "CTCF", "Elk4"],
                           "family": ["C4-GATA-related", "Ets-related", "zinc", "Ets-related"]})
    rec = factor_recovery(hits, {"GATA1": "MA1", "ETS1": "MA2", "CTCF": "MA3"}, jaspar).set_index("factor")
    assert rec.loc["GATA1", "by_name"] and rec.loc["ETS1", "by_family"] and not rec.loc["ETS1", "by_name"]
    assert not rec.loc["CTCF", "recovered"] and rec.loc["ETS1", "best_filter"] == "f2"


def test_draw_logo_letter_heights_are_probability_times_information():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    from basset.plots.logos import draw_logo

    pwm = np.vstack([np.eye(4)[[0, 1]] * 0.9 + 0.025, [[0.4, 0.4, 0.1, 0.1]], np.full((1, 4), 0.25)])
    fig, ax = plt.subplots()
    draw_logo(ax, pwm)
    ic = M.column_information(pwm, (0.25,) * 4)
    boxes = [p.get_path().get_extents() for p in ax.patches]
    for x in range(len(pwm)):
        col = [b for b in boxes if x <= b.x0 < x + 1]
        # every letter above 1e-3 bits, stacked from 0 to the column's information content
        assert len(col) == int(np.sum(pwm[x] * ic[x] > 1e-3))
        if col:
            assert min(b.y0 for b in col) == pytest.approx(0.0, abs=1e-9)
            assert max(b.y1 for b in col) == pytest.approx(ic[x], rel=1e-6)
            assert sorted(b.height for b in col) == pytest.approx(sorted(pwm[x] * ic[x]), rel=1e-6)
    assert ax.get_ylim() == (0, 2) and ax.get_xlim() == (0, len(pwm))
    plt.close(fig)


def test_write_filter_logos(tmp_path):
    import matplotlib.image

    pwms = [np.eye(4)[[0, 1, 2, 3, 0]] * 0.9 + 0.025, None, np.full((5, 4), 0.25)]
    out = write_filter_logos(pwms, ["a", "b", "c"], tmp_path / "logos.png", ncols=2)
    assert out == [tmp_path / "logos.png", tmp_path / "logos.pdf"]
    image = matplotlib.image.imread(out[0])
    assert image.shape[:2] == (round(2 * 1.1 * 120), round(2 * 2.2 * 120))  # 2 x 2 panels at 120 dpi
    # the 4th panel (no motif) is blank; the first (a logo) is not
    h, w = image.shape[0] // 2, image.shape[1] // 2
    assert np.all(image[h + 5:, w + 5:, :3] == 1.0) and np.any(image[:h, :w, :3] < 0.5)
    assert out[1].read_bytes()[:5] == b"%PDF-"


def test_factor_recovery_family_needs_a_look_alike():
    # ZIC3 and CTCF share JASPAR's "More than 3 adjacent zinc fingers" family but not a motif
    hits = pd.DataFrame({"filter": ["f1", "f2"], "target_id": ["MA3", "MA9"], "target_name": ["CTCF", "Elk4"],
                         "q": [0.01, 0.05]})
    jaspar = pd.DataFrame({"matrix_id": ["MA2", "MA3", "MA4", "MA9"], "name": ["ETS1", "CTCF", "ZIC3", "Elk4"],
                           "family": ["Ets-related", "zinc fingers", "zinc fingers", "Ets-related"]})
    factors = {"ETS1": "MA2", "ZIC3": "MA4"}
    loose = factor_recovery(hits, factors, jaspar).set_index("factor")
    assert loose.loc["ZIC3", "recovered"] and loose.loc["ETS1", "recovered"]
    strict = factor_recovery(hits, factors, jaspar, similar={"ETS1": {"MA2", "MA9"}, "ZIC3": {"MA4"}})
    strict = strict.set_index("factor")
    assert strict.loc["ETS1", "by_family"] and not strict.loc["ZIC3", "recovered"]


def test_similar_matrices_includes_itself_and_look_alikes():
    rng = np.random.default_rng(2)
    db = _random_motifs(60, rng)
    twin = Motif("TWIN", "twin", np.clip(db[4].pwm + rng.normal(0, 0.01, db[4].pwm.shape), 1e-3, None))
    twin.pwm /= twin.pwm.sum(1, keepdims=True)
    db.append(twin)
    sim = similar_matrices({"F4": "T4", "F9": "T9"}, db, engine="basset")
    assert {"T4", "TWIN"} <= sim["F4"] and "T9" in sim["F9"] and "TWIN" not in sim["F9"]
    with pytest.raises(ValueError, match="missing"):
        similar_matrices({"X": "nope"}, db, engine="basset")


def test_motif_stage_rules_write_their_outputs(tmp_path):
    """The five rules of the motif stage, wired as the workflow wires them, on a tiny dataset and model; the
    database holds a copy of one filter's PWM as the planted factor's matrix, so that filter must be annotated
    with it and the factor recovered."""
    import json

    import h5py

    from basset.layout import out_dir_paths
    from basset.models import model_config, save_model
    from basset.stages import motifs as S

    rng = np.random.default_rng(0)
    L, names = 60, ["c1", "c2"]
    with h5py.File(tmp_path / "d.h5", "w") as h5:
        h5["target_names"] = np.array([n.encode() for n in names])
        g = h5.create_group("test")
        g["seqs"] = rng.integers(0, 4, size=(40, L), dtype=np.uint8)
        g["targets"] = rng.integers(0, 2, size=(40, 2), dtype=np.uint8)
        g["site_index"] = np.arange(40, dtype=np.int64)
    torch.manual_seed(0)
    cfg = model_config("cpu", seq_len=L, conv_filters=[6, 4], conv_widths=[5, 3], conv_pools=[2, 2],
                       conv_dropout=0.1, dense_units=[8], dense_dropout=0.1, batch_norm=False)
    save_model(tmp_path / "model.pt", build_model(cfg, 2), names)
    out = {k: str(v) for k, v in out_dir_paths(tmp_path / "motifs", "motifs").items()}
    common = {"model": str(tmp_path / "model.pt"), "h5": str(tmp_path / "d.h5"), "out": out, "device": "cpu"}
    assert S.filter_motifs(**common, motifs={"min_sites": 1}) == {"filters": 6, "filters_with_pwm": 6}
    filters = pd.read_csv(out["filters"], sep="\t")
    pwms = read_meme(out["filters_meme"])
    assert filters["filter"].tolist() == [f"filter{f}" for f in range(6)] == [m.id for m in pwms]
    assert filters.consensus.tolist() == [M.consensus(m.pwm) for m in pwms]
    np.testing.assert_allclose(filters.ic, [M.information_content(m.pwm) for m in pwms], atol=2e-4)
    assert (filters.nsites >= 1).all() and [m.nsites for m in pwms] == filters.nsites.tolist()

    database = _random_motifs(30, rng, width=(5, 9))
    database[3] = Motif("T3", "name3", pwms[2].pwm.copy(), 20.0)  # filter2's own PWM as the factor's matrix
    write_meme(tmp_path / "db.meme", database)
    (tmp_path / "truth.json").write_text(json.dumps({"factors": {"F3": "T3"}}))
    hits = S.tomtom_filters(out["filters_meme"], str(tmp_path / "db.meme"), out=out, motifs={"engine": "basset"})
    table = pd.read_csv(out["tomtom"], sep="\t", dtype={"filter": str, "target_id": str})
    expected = T.tomtom(read_meme(out["filters_meme"]), database, engine="basset", thresh=0.1)
    assert list(table.columns) == T.TOMTOM_COLUMNS
    assert table[["filter", "target_id"]].values.tolist() == expected[["filter", "target_id"]].values.tolist()
    np.testing.assert_allclose(table.p, expected.p, rtol=1e-5)
    assert hits == {"filters": 6, "annotated": table["filter"].nunique(), "engine": "basset"}
    best2 = table[table["filter"] == "filter2"].iloc[0]
    assert (best2.target_id, best2.offset, best2.orientation) == ("T3", 0, "+") and best2.q < 1e-3
    assert [m.id for m in read_meme(out["database_meme"])] == [m.id for m in database]
    db_table = pd.read_csv(out["database_table"], sep="\t")
    assert list(db_table.columns) == ["matrix_id", "name", "family"]
    assert db_table.matrix_id.tolist() == [m.id for m in database]

    S.filter_influence(**common)
    influence = pd.read_csv(out["influence"], sep="\t")
    assert influence["filter"].tolist() == list(range(6)) and list(influence.columns[3:]) == names
    assert S.insert_motifs(**common, motifs={"insert": ["GATAA", "CCGCGG"], "n_background": 10})["motifs"] == 2
    insertion = pd.read_csv(out["insertion"], sep="\t", index_col=0)
    assert insertion.shape == (2, 2) and list(insertion.columns) == names and np.isfinite(insertion.values).all()
    summary = S.summarise_filters(out["filters"], out["filters_meme"], out["influence"], out["tomtom"],
                                  out["database_meme"], out["database_table"], str(tmp_path / "truth.json"),
                                  out=out, motifs={"engine": "basset"}, n_logos=3)
    assert summary["filters"] == 6 and summary["planted_factors"] == 1
    assert summary["planted_factors_recovered"] == 1 and summary["annotated"] == table["filter"].nunique()
    fsum = pd.read_csv(out["filter_summary"], sep="\t")
    assert sorted(fsum["filter"]) == filters["filter"].tolist()
    assert fsum.influence.is_monotonic_decreasing
    np.testing.assert_allclose(fsum.set_index("filter").loc[filters["filter"], "influence"],
                               influence.influence, rtol=1e-5)
    assert fsum.set_index("filter").loc["filter2", "best_id"] == "T3"
    assert fsum.annotated.sum() == table["filter"].nunique()
    recovery = pd.read_csv(out["recovery"], sep="\t")
    assert recovery.factor.tolist() == ["F3"] and recovery.by_name.tolist() == [True]
    assert recovery.best_filter.tolist() == ["filter2"]
    for key in ("logos", "fig3c", "insertion_figure", "fig3a", "fig3b"):
        assert Path(out[key]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", key
        assert Path(out[key]).with_suffix(".pdf").read_bytes()[:5] == b"%PDF-", key
    written = pd.read_csv(out["summary"], sep="\t", index_col="key")["value"]
    assert written["planted_factors_recovered"] == "1" and written["annotated"] == str(summary["annotated"])
