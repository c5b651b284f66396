"""DeepSEA's bin labels (basset.bins): hand-made intervals at the thresholds, chromosome ends, and a plain loop over
every bin as the outside reference on random peaks."""

from __future__ import annotations

import numpy as np
import pytest

from basset.bins import label_bins, touched_bins


def _label(peaks, sizes=(5000,), n_features=2, **kw):
    """peaks: (chrom, start, end, feature) tuples."""
    c, s, e, f = (np.array(x) for x in zip(*peaks)) if peaks else (np.zeros(0, int),) * 4
    return label_bins(c, s, e, f, list(sizes), n_features, **kw)


def test_half_a_bin_is_0_and_just_over_half_is_1():
    # feature 0 (TF) selects bins 1000-1200 and 2000-2200; feature 1 covers exactly 100 bp of the first, 101 of the
    # second
    out = _label([(0, 1050, 1060, 0), (0, 2050, 2060, 0), (0, 1100, 1200, 1), (0, 1999, 2101, 1)],
                 bin_size=200, length=1000, select=[0])
    assert out["start"].tolist() == [1000, 2000]
    assert out["labels"][:, 1].tolist() == [0, 1]
    assert out["labels"][:, 0].tolist() == [0, 0]  # the TF's own 10 bp peaks cover far less than half
    assert out["window"].tolist() == [600, 1600]


def test_two_peaks_of_one_feature_do_not_add_up():
    # 60 + 60 bp of feature 1 in one bin: neither peak covers more than half
    out = _label([(0, 1000, 1200, 0), (0, 1000, 1060, 1), (0, 1140, 1200, 1)])
    assert out["labels"].tolist() == [[1, 0]]


def test_a_bin_without_a_selecting_peak_is_not_a_sample():
    # feature 1 (a histone mark) covers bins 3000-3400 whole, but no TF peak touches them
    out = _label([(0, 3000, 3400, 1), (0, 1199, 1201, 0)], select=[0])
    assert out["start"].tolist() == [1000, 1200]  # a 2 bp TF peak across a boundary touches both bins
    assert out["labels"].tolist() == [[0, 0], [0, 0]]
    everything = _label([(0, 3000, 3400, 1), (0, 1199, 1201, 0)], select=None)
    assert everything["start"].tolist() == [1000, 1200, 3000, 3200]
    assert everything["labels"][:, 1].tolist() == [0, 0, 1, 1]


def test_chromosome_ends():
    # chromosome of 1,050 bp: bins 0-1000 whole, 1000-1050 cut short (not a bin); with 400 bp windows the first bin's
    # window starts at -100 (leaves the chromosome), bin 200 fits, bin 800's window ends at 1,100 > 1,050
    out = _label([(0, 0, 1050, 0)], sizes=(1050,), n_features=1, bin_size=200, length=400)
    assert out["start"].tolist() == [200, 400, 600]
    assert out["skipped_edge"] == 2 and out["skipped_partial"] == 1
    # a second chromosome keeps its own coordinates; an odd slack puts the extra base on the right of the window
    out = _label([(1, 205, 215, 0)], sizes=(1050, 2000), n_features=1, bin_size=200, length=401)
    assert out["chrom"].tolist() == [1] and out["start"].tolist() == [200] and out["window"].tolist() == [100]


def test_touched_bins():
    rows, bins = touched_bins([0, 199, 200, 390], [1, 201, 400, 600], 200)
    assert rows.tolist() == [0, 1, 1, 2, 3, 3]
    assert bins.tolist() == [0, 0, 1, 1, 1, 2]


def test_bad_arguments():
    with pytest.raises(ValueError, match="fraction"):
        _label([(0, 10, 20, 0)], fraction=1.0)
    with pytest.raises(ValueError, match="start < end"):
        _label([(0, 20, 20, 0)])
    with pytest.raises(ValueError, match="feature indices"):
        _label([(0, 10, 20, 2)])


def test_arguments_at_their_limits():
    """fraction 0 is allowed (any overlap labels 1), 1 is not; bins of 1 bp and inputs as long as a bin are allowed,
    0 bp bins and inputs shorter than a bin are not; a negative start is refused."""
    out = _label([(0, 1000, 1001, 0)], n_features=1, fraction=0.0)
    assert out["labels"].tolist() == [[1]]
    assert _label([(0, 1000, 1001, 0)], n_features=1, fraction=0.005)["labels"].tolist() == [[0]]
    out = _label([(0, 10, 12, 0)], n_features=1, bin_size=1, length=1)
    assert out["start"].tolist() == [10, 11] and out["window"].tolist() == [10, 11]
    out = _label([(0, 10, 12, 0)], n_features=1, bin_size=200, length=200)
    assert out["start"].tolist() == [0] and out["window"].tolist() == [0]
    for kw in ({"bin_size": 0, "length": 10}, {"bin_size": 200, "length": 199}):
        with pytest.raises(ValueError, match=r"expected 1 <= bin_size <= length, got bin_size \d+, length \d+"):
            _label([(0, 10, 20, 0)], **kw)
    with pytest.raises(ValueError, match="^every peak needs 0 <= start < end$"):
        _label([(0, -5, 20, 0)])


def test_the_last_bin_of_a_chromosome_and_the_first_of_the_next():
    """Chromosomes of 400 bp (two whole bins each), inputs one bin long: chr0's last bin and chr1's first are both
    samples, on their own chromosome, with their own labels (the bins of all chromosomes share one key space)."""
    out = _label([(0, 200, 400, 0), (1, 0, 10, 0), (1, 0, 200, 1), (0, 300, 400, 1)], sizes=(400, 400),
                 bin_size=200, length=200, select=[0])
    assert out["chrom"].tolist() == [0, 1] and out["start"].tolist() == [200, 0]
    assert out["labels"].tolist() == [[1, 0], [0, 1]]


def test_no_sample_and_a_single_sample():
    """Peaks of an unselected feature only: no sample, labels of shape (0, features); one selected peak: one sample,
    whatever the other feature's peaks elsewhere."""
    none = _label([(0, 1000, 1400, 1)], select=[0])
    assert none["labels"].shape == (0, 2) and none["start"].tolist() == []
    one = _label([(0, 1000, 1400, 1), (0, 3000, 3150, 0), (0, 3000, 3200, 1), (0, 4000, 4200, 1)], select=[0])
    assert one["start"].tolist() == [3000] and one["labels"].tolist() == [[1, 1]]


def test_default_input_is_1000_bp():
    """Without `length`, DeepSEA's 1,000 bp: on a 1,600 bp chromosome the window of bin 1,000-1,200 (600-1,600) ends
    exactly at the chromosome's end and is kept; bin 1,200's is not."""
    out = _label([(0, 1000, 1400, 0)], sizes=(1600,), n_features=1)
    assert out["start"].tolist() == [1000] and out["window"].tolist() == [600] and out["skipped_edge"] == 1


def test_float_coordinates_give_the_integer_result():
    """Coordinates read as floats (a pandas column with a missing value elsewhere) label the same bins, and the result
    stays integer (a BED written from it must say 1000, not 1000.0); labels are uint8."""
    peaks = [(0, 1000, 1150, 0), (1, 2990, 3300, 1), (1, 3000, 3010, 0)]
    want = _label(peaks, sizes=(5000, 4000), select=[0])
    c, s_, e, f = (np.array(x) for x in zip(*peaks))
    got = label_bins(c.astype(float), s_.astype(float), e.astype(float), f.astype(float), [5000.0, 4000.0], 2,
                     select=[0])
    for key in ("chrom", "start", "window"):
        assert got[key].dtype == np.int64 and got[key].tolist() == want[key].tolist()
    assert got["labels"].dtype == want["labels"].dtype == np.uint8 and got["labels"].tolist() == want["labels"].tolist()
    rows, bins = touched_bins(np.array([199.0]), np.array([201.0]), 200)
    assert rows.dtype == bins.dtype == np.int64 and bins.tolist() == [0, 1]


def _loop(peaks, sizes, n_features, bin_size, fraction, select, length):
    """The rule as written, bin by bin."""
    out = []
    for c, size in enumerate(sizes):
        for k in range(size // bin_size):
            lo, hi = k * bin_size, (k + 1) * bin_size
            touching = [p for p in peaks if p[0] == c and p[1] < hi and p[2] > lo]
            if not any(select is None or p[3] in select for p in touching):
                continue
            w = lo - (length - bin_size) // 2
            if w < 0 or w + length > size:
                continue
            row = [0] * n_features
            for p in touching:
                if min(p[2], hi) - max(p[1], lo) > fraction * bin_size:
                    row[p[3]] = 1
            out.append((c, lo, row))
    return out


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_equals_a_plain_loop_over_every_bin(seed):
    rng = np.random.default_rng(seed)
    sizes, n_features = [3001, 2400, 999], 4
    peaks = []
    for _ in range(120):
        c = int(rng.integers(0, 3))
        s = int(rng.integers(0, sizes[c] - 1))
        e = min(sizes[c], s + int(rng.integers(1, 500)))
        peaks.append((c, s, e, int(rng.integers(0, n_features))))
    kw = dict(bin_size=200, fraction=0.5, select=[0, 1], length=600)
    out = _label(peaks, sizes=sizes, n_features=n_features, **kw)
    want = _loop(peaks, sizes, n_features, **kw)
    assert list(zip(out["chrom"].tolist(), out["start"].tolist())) == [(c, s) for c, s, _ in want]
    assert out["labels"].tolist() == [r for *_, r in want]


def test_bin_peaks_stage_writes_merge_peaks_files(tmp_path):
    """The deepsea mode's stage: peak files of a sheet with an assay column -> the four files of merge_peaks, which
    the dataset stage reads; a TF peak selects, a histone domain labels, a DNase peak covering less than half
    does not."""
    import gzip

    import pandas as pd

    from basset.bed import read_sites
    from basset.stages.peaks import bin_peaks

    (tmp_path / "g.fa.fai").write_text("chr1\t3000\t6\t60\t61\nchr2\t500\t3063\t60\t61\n")
    (tmp_path / "tf.bed").write_text("chr1\t1020\t1060\nchr1\t1410\t1420\nchr1\t2900\t2950\nchr2\t100\t120\n")
    with gzip.open(tmp_path / "h3k27ac.bed.gz", "wt") as f:
        f.write("track name=x\n1\t900\t1500\n")  # named without 'chr': mapped; bin 1000 whole, bin 1400 half
    (tmp_path / "dnase.bed").write_text("chr1\t1400\t1499\n")  # 99 of bin 1400's 200 bp
    (tmp_path / "sheet.tsv").write_text("name\tpeaks\tassay\tcell\nctcf\ttf.bed\ttf\tK562\n"
                                        "ac\th3k27ac.bed.gz\thistone\tK562\nopen\tdnase.bed\t\tK562\n")
    out = {k: tmp_path / f"{k}.out" for k in ("sites", "activity", "targets", "summary")}
    out["activity"] = tmp_path / "activity.tsv.gz"
    summary = bin_peaks(samples=str(tmp_path / "sheet.tsv"), fai=str(tmp_path / "g.fa.fai"), out=out,
                        peaks=[str(tmp_path / n) for n in ("tf.bed", "h3k27ac.bed.gz", "dnase.bed")],
                        dataset={"bin": 200, "bin_fraction": 0.5, "select": ["tf"]}, length=600)
    sites = read_sites(out["sites"])
    # TF peaks touch bins 1000, 1400 and 2800 of chr1; bin 2800's window would end at 3,200 > 3,000 (skipped); chr2 is
    # shorter than one window (its peaks are skipped as Basset's mode skips them)
    assert sites[["chrom", "start", "end"]].values.tolist() == [["chr1", 800, 1400], ["chr1", 1200, 1800]]
    activity = pd.read_csv(out["activity"], sep="\t")
    assert activity.columns.tolist() == ["site", "ctcf", "ac", "open"]
    assert activity[["ctcf", "ac", "open"]].values.tolist() == [[0, 1, 0], [0, 0, 0]]  # 100 of 200 bp: 0
    targets = pd.read_csv(out["targets"], sep="\t")
    assert targets["assay"].tolist() == ["tf", "histone", "dnase"]
    assert targets["selects_bins"].tolist() == [True, False, False]
    assert summary["sites"] == 2 and summary["skipped_bins_at_chromosome_ends"] == 1
    assert summary["skipped_short_chrom"] == 1


def test_evaluation_by_assay(tmp_path):
    """Medians per assay by hand; a feature without a finite AUROC is counted, not averaged; an empty assay cell is
    DNase; the stage writes the table, the figure and the key numbers."""
    import pandas as pd

    from basset.evaluate import assay_summary
    from basset.stages.evaluate import evaluate_by_assay

    metrics = pd.DataFrame({"target": ["d1", "t1", "t2", "t3", "h1", "h2"],
                            "auroc": [0.8, 0.9, 0.7, np.nan, 0.6, 0.64], "auprc": [0.3, 0.5, 0.4, np.nan, 0.2, 0.1]})
    assays = {"t1": "tf", "t2": "tf", "t3": "tf", "h1": "histone", "h2": "histone"}
    table = assay_summary(metrics, assays)
    assert table["assay"].tolist() == ["dnase", "tf", "histone"]
    assert table["features"].tolist() == [1, 3, 2] and table["unscored"].tolist() == [0, 1, 0]
    np.testing.assert_allclose(table["median_auroc"], [0.8, 0.8, 0.62])
    np.testing.assert_allclose(table["median_auprc"], [0.3, 0.45, 0.15])
    metrics.to_csv(tmp_path / "metrics.tsv", sep="\t", index=False)
    (tmp_path / "sheet.tsv").write_text("name\tpeaks\tassay\n" + "".join(
        f"{t}\tx.bed\t{assays.get(t, '')}\n" for t in metrics["target"]))
    out = {"by_assay": tmp_path / "a.tsv", "assay_summary": tmp_path / "s.tsv", "fig_assay": tmp_path / "f.png"}
    summary = evaluate_by_assay(tmp_path / "metrics.tsv", tmp_path / "sheet.tsv", out=out)
    assert summary["tf_median_auroc"] == 0.8 and summary["histone_features"] == 2 and summary["assays"] == 3
    assert (tmp_path / "f.png").read_bytes()[:4] == b"\x89PNG" and (tmp_path / "f.pdf").exists()
