"""basset predict (basset.stages.predict over basset.predict): FASTA and BED tables, bigWig tracks of genome tiles.

Each value is checked against the model run by hand on the window the definition names (one-hot of the genome's
bases, the model's sigmoid), never against the code under test."""

from __future__ import annotations

import gzip

import h5py
import numpy as np
import pandas as pd
import pytest
import torch

from basset import cli
from basset.errors import InputError
from basset.models import build_model, model_config, save_model
from basset.predict import centred_windows, tile_bins
from basset.sequence import N_CODE, encode, one_hot
from basset.stages.predict import parse_region, predict_file, predict_tracks

NAMES = ["a", "b"]
L = 40

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _model():
    torch.manual_seed(0)
    return build_model(model_config("cpu", seq_len=L, conv_filters=[8, 8], conv_widths=[7, 5], conv_pools=[2, 2],
                                    conv_dropout=0.0, dense_units=[8]), len(NAMES)).eval()


def _by_hand(net, codes, rc: bool = True) -> np.ndarray:
    with torch.no_grad():
        p = torch.sigmoid(net(torch.from_numpy(one_hot(codes)))).numpy()
        if rc:
            p = (p + torch.sigmoid(net(torch.from_numpy(one_hot(codes, reverse_complement=True)))).numpy()) / 2
    return p


@pytest.fixture
def files(tmp_path):
    rng = np.random.default_rng(1)
    chroms = {"chr1": "".join(rng.choice(list("ACGT"), 301)), "chr2": "".join(rng.choice(list("ACGT"), 90))}
    with open(tmp_path / "g.fa", "w") as f:
        for name, seq in chroms.items():
            f.write(f">{name}\n" + "\n".join(seq[i:i + 60] for i in range(0, len(seq), 60)) + "\n")
    net = _model()
    save_model(tmp_path / "m.pt", net, NAMES)
    return tmp_path, chroms, net


def test_tile_bins_and_centred_windows():
    s, e = tile_bins(10, 33, 10)
    assert s.tolist() == [10, 20, 30] and e.tolist() == [20, 30, 33]
    assert tile_bins(5, 5, 10)[0].size == 0
    assert tile_bins(7, 10, 1)[0].tolist() == [7, 8, 9]  # a stride of 1 bp is allowed
    with pytest.raises(ValueError, match="stride must be at least 1 bp"):
        tile_bins(0, 10, 0)
    # window of 40 whose central 10 bp start at 100: 15 bp on each side; odd slack puts the extra base right
    assert centred_windows([100], 10, 40).tolist() == [85]
    assert centred_windows([100], 9, 40).tolist() == [85]  # 31 bp of slack: 15 left, 16 right
    assert centred_windows([100], 40, 40).tolist() == [100]  # a bin as long as the input is its own window
    with pytest.raises(ValueError, match="longer than the model's input"):
        centred_windows([0], 41, 40)


def test_parse_region_is_one_based_inclusive():
    sizes = {"chr1": 1000}
    assert parse_region("chr1", sizes) == ("chr1", 0, 1000)
    assert parse_region("chr1:1-1,000", sizes) == ("chr1", 0, 1000)
    assert parse_region("chr1:11-20", sizes) == ("chr1", 10, 20)
    for bad, msg in (("chr2", "not in the genome"), ("chr1:0-10", "expected 1 <= start"), ("chr1:5-1001", "1,000"),
                     ("chr1:a-b", "expected chrom")):
        with pytest.raises(ValueError, match=msg):
            parse_region(bad, sizes)


def test_bed_windows_are_centred_and_out_of_range_intervals_skipped(files):
    tmp, chroms, net = files
    # midpoints 50 (even length), 101 (odd length), on chr2 at 45: its 40-bp window fits; one runs off chr1's end;
    # one names a chromosome the genome lacks
    # (a plain-text file named .gz, with Windows line ends and mixed column counts)
    (tmp / "s.bed.gz").write_bytes(b"track name=x\r\nchr1\t40\t60\tp1\r\nchr1\t100\t103\r\nchr2\t30\t60\tp3\t0\t+\r\n"
                                   b"chr1\t290\t300\toff\r\nchrX\t10\t20\tnone\r\n")
    out = tmp / "p.tsv.gz"
    summary = predict_file(tmp / "m.pt", out, bed=tmp / "s.bed.gz", genome=tmp / "g.fa", device="cpu")
    assert summary["sequences"] == 3 and summary["skipped"] == 2
    table = pd.read_csv(out, sep="\t")
    assert table["name"].tolist() == ["p1", "chr1:100-103", "p3"]
    windows = [chroms["chr1"][30:70], chroms["chr1"][81:121], chroms["chr2"][25:65]]
    expected = _by_hand(net, np.stack([encode(w) for w in windows]))
    np.testing.assert_allclose(table[NAMES].to_numpy(), expected, rtol=1e-5, atol=1e-6)


def test_bed_and_regions_named_without_chr_are_mapped(files):
    tmp, chroms, net = files
    (tmp / "s.bed").write_text("1\t40\t60\n2\t30\t60\tp3\n")
    out = tmp / "p.tsv"
    assert predict_file(tmp / "m.pt", out, bed=tmp / "s.bed", genome=tmp / "g.fa", device="cpu")["skipped"] == 0
    table = pd.read_csv(out, sep="\t")
    assert table["chrom"].tolist() == ["chr1", "chr2"] and table["name"].tolist() == ["1:40-60", "p3"]
    expected = _by_hand(net, np.stack([encode(chroms["chr1"][30:70]), encode(chroms["chr2"][25:65])]))
    np.testing.assert_allclose(table[NAMES].to_numpy(), expected, rtol=1e-5, atol=1e-6)
    assert parse_region("2:11-20", {"chr1": 300, "chr2": 90}) == ("chr2", 10, 20)


def test_fasta_table_as_hdf5(files):
    tmp, chroms, net = files
    (tmp / "s.fa").write_text(">long\n" + chroms["chr1"][:45] + "\n>exact\n" + chroms["chr2"][:40] + "\n")
    out = tmp / "p.h5"
    predict_file(tmp / "m.pt", out, fasta=tmp / "s.fa", device="cpu", rc_average=False)
    with h5py.File(out) as f:
        probs, names = f["probs"][:], [n.decode() for n in f["name"][:]]
        assert [t.decode() for t in f["target_names"][:]] == NAMES
    assert names == ["long", "exact"]
    expected = _by_hand(net, np.stack([encode(chroms["chr1"][2:42]), encode(chroms["chr2"][:40])]), rc=False)
    np.testing.assert_allclose(probs, expected, rtol=1e-5, atol=1e-6)
    with pytest.raises(InputError, match="expected an output ending in"):
        predict_file(tmp / "m.pt", tmp / "p.csv", fasta=tmp / "s.fa", device="cpu")


def test_bigwig_tracks_equal_the_model_on_centred_windows(files):
    pyBigWig = pytest.importorskip("pyBigWig")
    tmp, chroms, net = files
    out = tmp / "bw"
    summary = predict_tracks(tmp / "m.pt", tmp / "g.fa", out, ["chr1:21-75", "chr2"], stride=10, targets=["b"],
                             device="cpu", chunk=4)  # chunks smaller than a region: the tiles continue across them
    assert summary["bins"] == 6 + 9 and sorted(p.name for p in out.iterdir()) == ["b.bw"]
    padded = {c: "N" * L + s + "N" * L for c, s in chroms.items()}  # beyond a chromosome's ends: N
    for chrom, start, end in (("chr1", 20, 75), ("chr2", 0, 90)):
        bins = list(range(start, end, 10))
        windows = [padded[chrom][b - 15 + L:b - 15 + 2 * L] for b in bins]
        expected = _by_hand(net, np.stack([encode(w) for w in windows]))[:, 1]
        bw = pyBigWig.open(str(out / "b.bw"))
        got = bw.intervals(chrom, start, end)
        bw.close()
        assert [(s, e) for s, e, _ in got] == [(b, min(b + 10, end)) for b in bins]
        np.testing.assert_allclose([v for *_, v in got], expected, rtol=1e-5, atol=1e-6)
    assert N_CODE == 4


def test_bigwig_refuses_overlapping_regions_and_leaves_no_partial_file(files):
    tmp, _, _ = files
    out = tmp / "bw"
    with pytest.raises(ValueError, match="overlap"):
        predict_tracks(tmp / "m.pt", tmp / "g.fa", out, ["chr1:1-100", "chr1:50-150"], stride=10, device="cpu")
    assert list(out.iterdir()) == []


def test_cli_predict_and_its_errors(files, capsys):
    tmp, _, _ = files
    (tmp / "s.bed").write_text("chr1\t40\t60\n")
    assert cli.main(["-q", "predict", "--model", str(tmp / "m.pt"), "--bed", str(tmp / "s.bed"), "--genome",
                     str(tmp / "g.fa"), "--out", str(tmp / "p.tsv"), "--bigwig", str(tmp / "bw"), "--region",
                     "chr2:1-30", "--stride", "15"]) == 0
    assert len(pd.read_csv(tmp / "p.tsv", sep="\t")) == 1 and sorted(p.name for p in (tmp / "bw").iterdir()) == \
        ["a.bw", "b.bw"]
    capsys.readouterr()
    assert cli.main(["predict", "--model", str(tmp / "m.pt"), "--bigwig", str(tmp / "bw2"), "--genome",
                     str(tmp / "g.fa"), "--region", "chrZ:1-10", "--stride", "10"]) == 2
    assert "argument --region: chrZ is not in the genome" in capsys.readouterr().err
    assert cli.main(["predict", "--model", str(tmp / "m.pt"), "--bed", str(tmp / "s.bed")]) == 2
    assert "argument --genome: --bed needs the genome FASTA" in capsys.readouterr().err
    with gzip.open(tmp / "bad.bed.gz", "wt") as f:
        f.write("chr1\tten\t20\n")
    assert cli.main(["predict", "--model", str(tmp / "m.pt"), "--bed", str(tmp / "bad.bed.gz"), "--genome",
                     str(tmp / "g.fa"), "--out", str(tmp / "q.tsv")]) == 2
    assert "bad.bed.gz:1: start and end must be integers" in capsys.readouterr().err
    assert not (tmp / "q.tsv").exists()


def test_bigwig_tracks_on_a_full_disk_are_one_line_and_leave_nothing(files, small_tmpfs, capsys):
    """pyBigWig reports a failed write as a bare RuntimeError: on a full file system ``basset predict --bigwig`` says
    which folder could not be written, exits 2 and leaves no partial track. (Before, a traceback.)"""
    from conftest import fill_up, leftovers

    tmp, _, _ = files
    (small_tmpfs / "bw").mkdir()
    fill_up(small_tmpfs)
    assert cli.main(["-q", "predict", "--model", str(tmp / "m.pt"), "--genome", str(tmp / "g.fa"), "--bigwig",
                     str(small_tmpfs / "bw"), "--stride", "10"]) == 2
    err = capsys.readouterr().err
    assert f"basset predict: error: no space left on device writing {small_tmpfs / 'bw'}" in err
    assert "Traceback" not in err and leftovers(small_tmpfs / "bw") == []
