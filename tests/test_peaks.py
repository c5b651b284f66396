"""Basset's peak merging: the fast merge equals the plain reference; file reading and bad input; the stage."""

import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import run_script
from hypothesis import given, settings
from hypothesis import strategies as st

from basset.bed import (
    read_activity,
    read_peaks,
    read_sites,
    write_activity,
    write_sites,
)
from basset.errors import InputError
from basset.layout import STAGES
from basset.peaks import (
    ChromosomeFilter,
    merge_sorted,
    merge_sorted_reference,
    sort_peaks,
)
from basset.stages.peaks import merge_peak_files, merge_peaks

ROOT = Path(__file__).resolve().parents[1]


def _sorted(chrom, mid, target, sizes, minus=None):
    chrom = np.asarray(chrom, np.int32)
    minus = np.zeros(len(chrom), bool) if minus is None else np.asarray(minus, bool)
    return sort_peaks(chrom, minus, np.asarray(mid, np.int64), np.asarray(target, np.int32),
                      [f"chr{i + 1}" for i in range(len(sizes))], sizes)


def _same(a, b):
    for field in ("chrom", "start", "end", "strand", "activity"):  # the reference builds the same arrays
        assert getattr(a, field).dtype == getattr(b, field).dtype, field
    assert list(a.chrom) == list(b.chrom)
    assert list(a.strand) == list(b.strand)
    np.testing.assert_array_equal(a.start, b.start)
    np.testing.assert_array_equal(a.end, b.end)
    np.testing.assert_array_equal(a.activity, b.activity)


def test_pair_merges_to_weighted_midpoint_and_chain_needs_more_than_overlap():
    # 1000 and 1100 overlap by 500: merged at 1050; 1500 overlaps the 1100 peak by exactly 200: not chained
    sp = _sorted([0, 0, 0], [1000, 1100, 1500], [0, 1, 2], [10_000])
    for sites in (merge_sorted(sp, 3), merge_sorted_reference(sp, 3)):
        assert sites.start.tolist() == [750, 1200]
        assert sites.end.tolist() == [1350, 1800]
        assert sites.activity.tolist() == [[1, 1, 0], [0, 0, 1]]
        assert list(sites.names) == ["chr1:750-1350(+)", "chr1:1200-1800(+)"]


def test_overlap_one_above_the_default_merges_in_both_implementations():
    # 5000 and 5399 overlap by 201 bp (> the default 200): one site at the weighted midpoint 5199.5 -> 5200
    sp = _sorted([0, 0], [5000, 5399], [0, 1], [10_000])
    for sites in (merge_sorted(sp, 2), merge_sorted_reference(sp, 2)):
        assert sites.start.tolist() == [4900] and sites.activity.tolist() == [[1, 1]]


def test_weights_are_one_plus_active_targets():
    # (2000,t0)+(2000,t1) merge first (overlap 600), then with 2300 at weights 3 and 2: (6000+4600)/5 = 2120
    sp = _sorted([0, 0, 0], [2000, 2000, 2300], [0, 1, 2], [10_000])
    sites = merge_sorted(sp, 3)
    assert sites.start.tolist() == [1820] and sites.end.tolist() == [2420]
    assert sites.activity.tolist() == [[1, 1, 1]]
    # the same target twice counts once in the weight: (2000*2 + 2300*2)/4 = 2150
    sp = _sorted([0, 0, 0], [2000, 2000, 2300], [0, 0, 1], [10_000])
    assert merge_sorted(sp, 2).start.tolist() == [1850]


def test_clamped_to_chromosome_ends_and_strands_kept_apart():
    # 100 is clamped to 0-600, whose midpoint (300, not 100) is what the merge with 500 (200-800) averages
    sp = _sorted([0, 0, 0], [100, 500, 950], [0, 0, 1], [1000], minus=[False, False, True])
    sites = merge_sorted(sp, 2)
    _same(sites, merge_sorted_reference(sp, 2))
    assert list(sites.strand) == ["+", "-"]
    assert sites.start.tolist() == [100, 400] and sites.end.tolist() == [700, 1000]
    assert sites.activity.tolist() == [[1, 0], [0, 1]]


def test_fast_equals_reference_on_many_random_inputs():
    rng = np.random.default_rng(7)
    for _ in range(200):
        n, t, nc = int(rng.integers(1, 300)), int(rng.integers(1, 140)), int(rng.integers(1, 4))
        sizes = rng.integers(700, 30_000, nc)
        chrom = rng.integers(0, nc, n)
        mid = (rng.random(n) * sizes[chrom]).astype(np.int64)
        sp = _sorted(chrom, mid, rng.integers(0, t, n), sizes, minus=rng.random(n) < 0.3)
        size = int(rng.choice([600, 601, 300, 1000]))
        overlap = int(rng.choice([200, 0, 150, 450]))
        _same(merge_sorted(sp, t, size, overlap), merge_sorted_reference(sp, t, size, overlap))


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5000), st.integers(0, 70)), min_size=1, max_size=120))
def test_fast_equals_reference_dense_clusters(peaks):
    # dense midpoints on a short chromosome make long clusters with many ties
    mid, target = zip(*peaks)
    sp = _sorted([0] * len(mid), mid, target, [5001])
    _same(merge_sorted(sp, 71), merge_sorted_reference(sp, 71))


@pytest.fixture
def peak_dir(tmp_path):
    (tmp_path / "a.narrowPeak").write_bytes(
        b"track name=a\r\nbrowser position chr1\r\nchr1\t100\t300\t.\t0\t.\t1\t-1\t-1\t50\r\n"
        b"chr1\t5000\t5200\t.\t0\t.\t1\t-1\t-1\t20\r\nchrUn_x\t10\t50\t.\t0\t.\t1\t-1\t-1\t5\r\n"
        b"chrZ\t10\t50\t.\t0\t.\t1\t-1\t-1\t5\r\n")
    with gzip.open(tmp_path / "b.bed.gz", "wt") as fh:
        fh.write("chrom\tstart\tend\nchr1\t150\t250\nchrY\t1000\t1400\nchr2\t3000\t3300\n")
    return tmp_path


def test_chromosome_filter_lengths_at_the_site_size_names_of_y_and_counts():
    sizes = {"1": 600, "2": 599, "Y": 5000, "chrY": 5000, "chrUn_gl1": 900, "chr2_random": 10, "X": 601}
    kept_by_default = ChromosomeFilter.for_genome(sizes, 600)  # chrY and contigs kept unless asked
    assert list(kept_by_default.allowed) == [True, False, True, True, True, False, True]  # 600 fits, 599 not
    f = ChromosomeFilter.for_genome(sizes, 600, drop_chry=True, drop_noncanonical=True)
    assert list(f.allowed) == [True, False, False, False, False, False, True]
    assert list(f.is_y) == [False, False, True, True, False, False, False]  # Ensembl's Y as well as chrY
    # peaks: 2 on "1", 3 on "2" (short), 1 on Y, 2 on chrY, 4 on chrUn_gl1 (non-canonical), 1 on chr2_random
    # (short and non-canonical: counted as short), 1 on X, 2 unknown
    index = np.array([0, 0, 1, 1, 1, 2, 3, 3, 4, 4, 4, 4, 5, 6, -1, -1])
    kept, counts = f.keep(index)
    assert list(np.flatnonzero(kept)) == [0, 1, 13]
    assert counts == {"skipped_unknown_chrom": 2, "skipped_chrY": 3, "skipped_short_chrom": 4,
                      "skipped_noncanonical": 4, "kept": 3}
    kept, counts = kept_by_default.keep(index)
    assert counts == {"skipped_unknown_chrom": 2, "skipped_chrY": 0, "skipped_short_chrom": 4,
                      "skipped_noncanonical": 0, "kept": 10}


def test_read_peaks_accepts_track_lines_header_crlf_and_gzip(peak_dir):
    a = read_peaks(peak_dir / "a.narrowPeak", "narrowPeak")
    assert a.mid.tolist() == [200, 5100, 30, 30]
    assert list(a.chrom) == ["chr1", "chr1", "chrUn_x", "chrZ"]
    summit = read_peaks(peak_dir / "a.narrowPeak", "narrowPeak", midpoint="summit")
    assert summit.mid.tolist() == [150, 5020, 15, 15]
    b = read_peaks(peak_dir / "b.bed.gz", "bed")
    assert b.mid.tolist() == [200, 1200, 3150]
    assert not b.minus.any()


@pytest.mark.parametrize("line, expected", [
    ("chr1\t100\n", "expected at least 3"),
    ("chr1\tabc\t200\n", "expected integer start and end"),
    ("chr1\t300\t200\n", "start <= end"),
    ("chr1\t100\t200\tx\t0\t*\n", "strand"),
])
def test_bad_lines_name_file_and_line(tmp_path, line, expected):
    path = tmp_path / "bad.bed"
    path.write_text("chr1\t1\t50\tp\t0\t+\nchr1\t60\t90\tq\t0\t-\n" + line + "chr1\t500\t600\tr\t0\t.\n")
    with pytest.raises(InputError, match=expected) as err:
        read_peaks(path, "bed")
    assert f"{path}:3:" in str(err.value)


def test_merge_files_skips_and_counts_unknown_y_and_noncanonical(peak_dir):
    samples = pd.DataFrame({"name": ["a", "b"], "peaks": [str(peak_dir / "a.narrowPeak"), str(peak_dir / "b.bed.gz")],
                            "format": ["narrowPeak", "bed"]})
    sizes = {"chr1": 10_000, "chr2": 10_000, "chrY": 10_000, "chrUn_x": 2000}
    res = merge_peak_files(samples, sizes, drop_chry=True, drop_noncanonical=True, progress=False)
    stats = res.stats.set_index("name")
    assert stats.loc["a", "skipped_unknown_chrom"] == 1  # chrZ
    assert stats.loc["a", "skipped_noncanonical"] == 1  # chrUn_x
    assert stats.loc["b", "skipped_chrY"] == 1
    assert stats["kept"].tolist() == [2, 2]
    assert list(res.sites.chrom) == ["chr1", "chr1", "chr2"]
    # the 200 and 200 midpoints of a and b merge into one site active in both
    assert res.sites.activity.tolist() == [[1, 1], [1, 0], [0, 1]]
    assert res.skipped == {"skipped_unknown_chrom": 1, "skipped_chrY": 1, "skipped_short_chrom": 0,
                           "skipped_noncanonical": 1}


def test_empty_peak_file_is_an_error_naming_the_sample(tmp_path):
    (tmp_path / "e.bed").write_text("track name=e\n")
    samples = pd.DataFrame({"name": ["empty_cell"], "peaks": [str(tmp_path / "e.bed")], "format": ["bed"]})
    with pytest.raises(InputError, match="empty_cell"):
        merge_peak_files(samples, {"chr1": 1000}, progress=False)


def test_sites_and_activity_round_trip(tmp_path):
    sp = _sorted([0, 0, 1, 1], [1000, 5000, 700, 4000], [0, 2, 1, 2], [10_000, 8000])
    sites = merge_sorted(sp, 3)
    write_sites(tmp_path / "s.bed", sites)
    write_activity(tmp_path / "a.tsv.gz", ["x", "y", "z"], sites.names, sites.activity)
    df = read_sites(tmp_path / "s.bed")
    assert df["start"].tolist() == sites.start.tolist()
    assert df["score"].tolist() == sites.activity.sum(1).tolist()
    names, site_names, act = read_activity(tmp_path / "a.tsv.gz")
    assert names == ["x", "y", "z"]
    assert list(site_names) == list(df["name"])
    np.testing.assert_array_equal(act, sites.activity)
    text = gzip.open(tmp_path / "a.tsv.gz", "rt").read().splitlines()
    assert text[1] == f"{sites.names[0]}\t1\t0\t0"


def _sheet(tmp_path, peak_dir):
    sheet = tmp_path / "sheet.tsv"
    sheet.write_text(f"name\tpeaks\tgroup\tformat\tlabel\na\t{peak_dir / 'a.narrowPeak'}\tg1\tnarrowPeak\tla\n"
                     f"b\t{peak_dir / 'b.bed.gz'}\tg2\t\tlb\n")
    return sheet


def _outputs(folder):
    return {key: str(folder / name) for key, name in STAGES["peaks"].items()}


def test_stage_writes_the_four_outputs_with_schema_defaults(peak_dir, tmp_path):
    sizes = tmp_path / "genome.fa.fai"
    sizes.write_text("chr1\t10000\t6\t60\t61\nchr2\t10000\t6\t60\t61\nchrY\t10000\t6\t60\t61\n")
    out = _outputs(tmp_path / "peaks")
    summary = merge_peaks(samples=str(_sheet(tmp_path, peak_dir)), fai=str(sizes), out=out)
    # the schema drops chrY and non-canonical contigs: chrUn_x (absent here) and chrZ are unknown, chrY skipped
    assert summary["sites"] == 3 and summary["skipped_chrY"] == 1 and summary["skipped_unknown_chrom"] == 2
    assert read_sites(out["sites"])["chrom"].tolist() == ["chr1", "chr1", "chr2"]
    targets, _, act = read_activity(out["activity"])
    assert targets == ["a", "b"] and act.tolist() == [[1, 1], [1, 0], [0, 1]]
    table = pd.read_csv(out["targets"], sep="\t", keep_default_na=False)
    assert list(table.columns[:4]) == ["index", "name", "label", "group"]
    assert pd.read_csv(out["summary"], sep="\t").set_index("key").loc["sites", "value"] == 3
    # a partial config section: its keys over the schema's defaults
    wide = merge_peaks(samples=str(_sheet(tmp_path, peak_dir)), fai=str(sizes), out=_outputs(tmp_path / "wide"),
                       peaks_config={"drop_chry": False, "feature_size": 2000})
    assert wide["skipped_chrY"] == 0 and wide["sites"] == 4  # chrY kept


def test_rule_script_takes_the_downloaded_copies(peak_dir, tmp_path):
    """The rule's contract: inputs samples, peaks (one file per sample, in sheet order), fai; param
    peaks_config; outputs sites, activity, targets, summary."""
    copy = tmp_path / "copy.narrowPeak"
    copy.write_bytes((peak_dir / "a.narrowPeak").read_bytes())
    sizes = tmp_path / "chrom.sizes"
    sizes.write_text("chr1\t10000\nchr2\t10000\n")
    sheet = tmp_path / "sheet.tsv"
    sheet.write_text("name\tpeaks\tformat\nonly\thttps://example.org/x.narrowPeak.gz\tnarrowPeak\n")
    out = _outputs(tmp_path / "peaks")
    log = tmp_path / "merge_peaks.log"
    run_script("merge_peaks", input={"peaks": [str(copy)], "fai": str(sizes), "samples": str(sheet)}, output=out,
               params={"peaks_config": {"midpoint": "summit"}}, log=log)
    assert read_sites(out["sites"])["start"].tolist() == [0, 4720]  # summits 150 (clamped to 0-600) and 5020
    assert "merge_peaks: targets=1, peaks_read=4, peaks_kept=2, sites=2" in log.read_text()


def _rows(sp):
    """The sorted peaks as (chrom, minus, mid, target) tuples, after checking the documented dtypes."""
    assert (sp.chrom.dtype, sp.minus.dtype, sp.mid.dtype, sp.target.dtype) == (np.int32, bool, np.int64, np.int32)
    assert sp.chrom_sizes.dtype == np.int64
    return list(zip(sp.chrom.tolist(), sp.minus.tolist(), sp.mid.tolist(), sp.target.tolist()))


def test_sort_peaks_int32_inputs_at_human_chromosome_scale():
    # the stage's dtypes (int32 chromosome and target) with midpoints near the end of chr1 (28 bits) and
    # 201 targets (8 bits): the packed key needs 38 bits, more than an int32 holds. Unsorted input, equal
    # midpoints on both strands, equal midpoints of different targets
    chrom = np.array([1, 0, 1, 0, 0, 1, 0], np.int32)
    minus = np.array([False, True, False, False, False, False, False])
    mid = np.array([248_956_421, 1000, 5, 248_956_421, 1000, 248_956_421, 1000], np.int32)
    target = np.array([200, 3, 7, 0, 3, 150, 1], np.int32)
    sp = sort_peaks(chrom, minus, mid, target, ("chr1", "chr2"), np.array([248_956_422, 248_956_422], np.int32))
    assert _rows(sp) == [(0, False, 1000, 1), (0, False, 1000, 3), (0, False, 248_956_421, 0), (0, True, 1000, 3),
                         (1, False, 5, 7), (1, False, 248_956_421, 150), (1, False, 248_956_421, 200)]
    assert sp.chrom_names == ["chr1", "chr2"] and sp.chrom_sizes.tolist() == [248_956_422, 248_956_422]
    # unsigned 64-bit target indices and plain lists sort the same
    again = sort_peaks(chrom.tolist(), minus.tolist(), mid.tolist(), target.astype(np.uint64), ["chr1", "chr2"],
                       [248_956_422, 248_956_422])
    assert _rows(again) == _rows(sp)


def test_sort_peaks_negative_midpoints_and_integer_strands():
    # midpoints below 0 (and a strand given as 0/1 integers) are still sorted by (chrom, strand, mid, target)
    sp = sort_peaks([0, 0, 1, 0, 0], [0, 1, 0, 0, 0], [-5, -7, 3, -5, 10], [2, 0, 1, 1, 0], ("a", "b"),
                    np.array([100, 200], np.int32))
    assert _rows(sp) == [(0, False, -5, 1), (0, False, -5, 2), (0, False, 10, 0), (0, True, -7, 0), (1, False, 3, 1)]
    assert sp.chrom_names == ["a", "b"] and sp.chrom_sizes.tolist() == [100, 200]


@pytest.mark.parametrize("mid_bits", [60, 61])
def test_sort_peaks_keys_of_63_and_64_bits(mid_bits):
    # 2 chromosomes (2 bits with the strand), targets 0-1 (1 bit) and midpoints of mid_bits bits: 63 bits in all
    # still fit one int64 key, 64 do not (chromosome 1 would wrap to a negative key and sort first)
    big = 2 ** (mid_bits - 1)
    sp = sort_peaks([1, 0, 1, 0], [False, False, False, True], [big, big + 1, 3, 0], [0, 1, 1, 0], ["a", "b"],
                    [2 ** 62, 2 ** 62])
    assert _rows(sp) == [(0, False, big + 1, 1), (0, True, 0, 0), (1, False, 3, 1), (1, False, big, 0)]


def test_no_peaks_give_no_sites_with_the_documented_dtypes():
    sp = sort_peaks(np.empty(0, np.int32), np.empty(0, bool), np.empty(0, np.int64), np.empty(0, np.int32), ["chr1"],
                    [1000])
    assert _rows(sp) == []
    for sites in (merge_sorted(sp, 3), merge_sorted_reference(sp, 3)):
        assert [getattr(sites, f).dtype for f in ("chrom", "start", "end", "strand", "activity")] == \
            [object, np.int64, np.int64, object, np.uint8]
        assert [getattr(sites, f).shape for f in ("chrom", "start", "end", "strand", "activity")] == \
            [(0,), (0,), (0,), (0,), (0, 3)]
        assert len(sites) == 0 and sites.names.shape == (0,)


@pytest.mark.parametrize("mid, size, starts, activity", [
    # windows 700-1300, 1000-1600, 1300-1900 (size 10000 below): two equal overlaps of 300, the leftmost pair
    # merges first (to 1150: 850-1450), which then overlaps 1300-1900 by 150 only
    ([1000, 1300, 1600], 10_000, [850, 1300], [[1, 1, 0], [0, 0, 1]]),
    # overlaps 400 and 300 chain all three; 900+1100 merge to 1000 (700-1300), which overlaps 1100-1700 by
    # exactly the threshold 200 and merges too, at (1000*3 + 1400*2) / 5 = 1160
    ([900, 1100, 1400], 10_000, [860], [[1, 1, 1]]),
    # (1000*2 + 1001*2) / 4 = 1000.5 rounds half up to 1001 (not to the even 1000)
    ([1000, 1001], 10_000, [701], [[1, 1]]),
    # 1950 is clamped to the chromosome end (1400-2000, midpoint 1700): the merge averages 1650 and 1700 to 1675
    ([1650, 1950], 2000, [1375], [[1, 1]]),
])
def test_merge_by_hand_ties_exact_threshold_half_up_and_chromosome_end(mid, size, starts, activity):
    sp = _sorted([0] * len(mid), mid, range(len(mid)), [size])
    for sites in (merge_sorted(sp, len(mid)), merge_sorted_reference(sp, len(mid))):
        assert sites.start.tolist() == starts
        assert sites.end.tolist() == [s + 600 for s in starts]
        assert sites.activity.tolist() == activity
