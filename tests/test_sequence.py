"""Sequence codes, one-hot encoding, FASTA access and sample sheets."""

import numpy as np
import pytest
import torch

from basset.errors import InputError
from basset.samples import read_sample_sheet
from basset.sequence import (
    Genome,
    decode,
    encode,
    one_hot,
    read_fai,
    reverse_complement,
)


def test_codes_round_trip_and_iupac_is_n():
    codes = encode("ACGTNacgtRY")
    assert codes.tolist() == [0, 1, 2, 3, 4, 0, 1, 2, 3, 4, 4]
    assert decode(codes) == "ACGTNACGTNN"
    assert decode(reverse_complement(encode("AACGTN"))) == "NACGTT"


def test_one_hot_numpy_and_torch_agree_and_n_is_zero():
    codes = np.array([[0, 1, 2, 3, 4]], dtype=np.uint8)
    x = one_hot(codes)
    assert x.shape == (1, 4, 5)
    np.testing.assert_array_equal(x[0, :, :4], np.eye(4))
    assert x[0, :, 4].sum() == 0
    t = one_hot(torch.from_numpy(codes))
    assert t.dtype == torch.float32
    np.testing.assert_array_equal(t.numpy(), x)


def test_genome_windows_and_fai(tmp_path):
    (tmp_path / "g.fa").write_text(">chr1\nACGTACGTAC\nGTNN\n>chr2\nTTTT\n")
    with Genome(tmp_path / "g.fa") as g:
        assert g.sizes == {"chr1": 14, "chr2": 4}
        assert decode(g.fetch("chr1", 8, 14)) == "ACGTNN"
        w = g.windows("chr1", np.array([-2, 12]), 4)
        assert [decode(r) for r in w] == ["NNAC", "NNNN"]
    assert read_fai(tmp_path / "g.fa.fai") == {"chr1": 14, "chr2": 4}


def test_sample_sheet_errors_name_file_and_line(tmp_path):
    sheet = tmp_path / "s.tsv"
    sheet.write_text("name\tpeaks\nA\ta.bed\nA\tb.narrowPeak.gz\n")
    with pytest.raises(InputError, match=r"s.tsv:3: sample name 'A' repeats line 2"):
        read_sample_sheet(sheet)
    sheet.write_text("name\tpeaks\tformat\nA\ta.bed\tbigwig\n")
    with pytest.raises(InputError, match=r"s.tsv:2: .*unknown format"):
        read_sample_sheet(sheet)
    sheet.write_text("name\tpeaks\nA\tx/a.narrowPeak.gz\nB\thttps://h/b.hotspot.bed.gz\n")
    df = read_sample_sheet(sheet)
    assert df["format"].tolist() == ["narrowPeak", "hotspot"]


def test_soft_masked_windows_and_strand_window_start(tmp_path):
    """Lowercase bases are the mask, whatever the letter (n too); windows past either end are False there.
    On the - strand, columns [lo, lo + width) of a 10 bp sequence start at genome start + 10 - lo - width."""
    from basset.sequence import Genome, strand_window_start

    (tmp_path / "g.fa").write_text(">c\nACgtNnAC\nGT\n")
    with Genome(tmp_path / "g.fa") as g:
        got = g.soft_masked("c", np.array([-2, 0, 6, 8]), 4)
    np.testing.assert_array_equal(got, [[False, False, False, False], [False, False, True, True],
                                        [False, False, False, False], [False, False, False, False]])
    with Genome(tmp_path / "g.fa") as g:
        assert g.soft_masked("c", np.array([3]), 3).tolist() == [[True, False, True]]
    np.testing.assert_array_equal(strand_window_start([100, 100], [False, True], 10, 2, 5), [102, 103])
    np.testing.assert_array_equal(strand_window_start([100, 100], [False, True], 10, 2, 6), [102, 102])
