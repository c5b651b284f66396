"""Files that users really have (issue 11): any chromosome naming, compression decided by content, BED lines of
different widths, genomes given as FASTA or sizes, configs whose keys contradict each other, full disks.

Each test names the defect it reproduces; before the fix each failed as its docstring says.
"""

import gzip
import os
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import fill_up, leftovers, this_basset_env

from basset.bed import read_peaks, read_sites
from basset.config import check_config, check_model, check_split
from basset.errors import ConfigError, InputError
from basset.fileio import (
    DiskFullError,
    atomic_path,
    open_text,
    sniff_genome,
    sweep_temporaries,
)
from basset.peaks import match_chromosomes
from basset.sequence import genome_sizes
from basset.stages.peaks import merge_peak_files, write_merge

ROOT = Path(__file__).resolve().parents[1]


def _sheet(tmp_path, files: dict[str, Path], fmt="bed") -> pd.DataFrame:
    rows = [{"name": n, "peaks": str(p), "format": fmt} for n, p in files.items()]
    return pd.DataFrame(rows).set_index("name", drop=False)


# ------------------------------------------------------------------------------------------ chromosome names
@pytest.mark.parametrize("peak_prefix, genome_prefix", [("chr", ""), ("", "chr")])
def test_chr_prefix_is_mapped_onto_the_genomes_names_and_reported(tmp_path, caplog, peak_prefix, genome_prefix):
    """Peaks named chr1 against a genome named 1 (and the reverse) gave exit code 0 and 0 sites."""
    bed = tmp_path / "a.bed"
    bed.write_text(f"{peak_prefix}1\t1000\t1200\n{peak_prefix}2\t5000\t5300\n{peak_prefix}M\t10\t50\n")
    sizes = {f"{genome_prefix}1": 100_000, f"{genome_prefix}2": 100_000,
             ("MT" if genome_prefix == "" else "chrM"): 16_569}
    caplog.set_level("INFO")
    res = merge_peak_files(_sheet(tmp_path, {"a": bed}), sizes, drop_noncanonical=False)
    assert sorted(set(res.sites.chrom)) == sorted(sizes)
    row = res.stats.iloc[0]
    assert row["kept"] == 3 and row["skipped_unknown_chrom"] == 0
    assert f"{peak_prefix}1->{genome_prefix}1" in row["renamed"]
    assert f"{peak_prefix}M->{'MT' if genome_prefix == '' else 'chrM'}" in row["renamed"]
    assert "chromosome names mapped" in caplog.text
    out = tmp_path / "out"
    write_merge(res, out / "sites.bed", out / "activity.tsv.gz", out / "targets.tsv", out / "summary.tsv")
    assert "renamed" in pd.read_csv(out / "targets.tsv", sep="\t").columns


def test_match_chromosomes_prefers_exact_names_and_maps_the_mitochondrion():
    assert match_chromosomes(["chr1", "1", "chrM", "MT", "chrUn"], ["1", "chr1", "MT"]) == \
        {"chr1": "chr1", "1": "1", "chrM": "MT", "MT": "MT"}
    assert match_chromosomes(["M"], ["chrM"]) == {"M": "chrM"}


def test_all_numeric_chromosome_names_stay_strings(tmp_path):
    """A genome and peaks named 1, 2 crashed with TypeError: sequence item 0: expected str instance, int found."""
    bed = tmp_path / "a.bed"
    bed.write_text("1\t1000\t1200\n2\t5000\t5300\n10\t100\t400\n")
    res = merge_peak_files(_sheet(tmp_path, {"a": bed}), {"1": 50_000, "2": 50_000, "10": 50_000})
    assert list(res.sites.chrom) == ["1", "2", "10"]  # the genome's order
    assert all(isinstance(c, str) for c in read_peaks(bed).names)
    out = tmp_path / "out"
    write_merge(res, out / "sites.bed", out / "activity.tsv.gz", out / "targets.tsv", out / "summary.tsv")
    sites = read_sites(out / "sites.bed")
    assert sites["chrom"].tolist() == ["1", "2", "10"] and sites["chrom"].map(type).eq(str).all()


def test_a_sample_with_no_peak_on_a_known_chromosome_is_an_error_with_examples(tmp_path):
    """Peaks on chromosomes absent from the genome gave exit code 0, 0 sites and only a warning."""
    good, bad = tmp_path / "good.bed", tmp_path / "bad.bed"
    good.write_text("chr1\t1000\t1200\n")
    bad.write_text("scaffold_7\t1000\t1200\nscaffold_9\t10\t300\n")
    with pytest.raises(InputError) as err:
        merge_peak_files(_sheet(tmp_path, {"good": good, "bad": bad}), {"chr1": 100_000, "chr2": 100_000})
    text = str(err.value)
    assert str(bad) in text and "'bad'" in text and "2 unknown chrom" in text
    assert "scaffold_7" in text and "chr1" in text  # examples from both files


@pytest.mark.parametrize("contig, reason, key", [
    ("chr2L", "noncanonical", "peaks.drop_noncanonical"),
    ("chr6_158159743_158290815", "noncanonical", "peaks.drop_noncanonical"),
    ("chrY", "chrY", "peaks.drop_chry"),
])
def test_all_peaks_dropped_names_the_sample_the_count_and_the_key(tmp_path, contig, reason, key):
    """Contigs that are not chr1-22/X/Y were all dropped with one INFO line, and the run went on to 0 sites."""
    bed = tmp_path / "a.bed"
    bed.write_text(f"{contig}\t1000\t1200\n{contig}\t3000\t3300\n{contig}\t9000\t9100\n")
    with pytest.raises(InputError) as err:
        merge_peak_files(_sheet(tmp_path, {"fly": bed}), {contig: 100_000}, drop_chry=True, drop_noncanonical=True)
    text = str(err.value)
    assert "'fly'" in text and f"3 {reason}" in text and key in text
    # with the key off, the same file merges
    ok = merge_peak_files(_sheet(tmp_path, {"fly": bed}), {contig: 100_000})
    assert len(ok.sites) == 3 and ok.stats["kept"].iloc[0] == 3


# ------------------------------------------------------------------------------------------ compression
def test_plain_text_named_gz_is_read_as_text(tmp_path):
    """A plain BED named .gz raised BadGzipFile: the merge sniffed the bytes, then pandas went by the name."""
    path = tmp_path / "peaks.bed.gz"
    path.write_text("chr1\t100\t300\nchr1\t1000\t1201\n")
    assert read_peaks(path).mid.tolist() == [200, 1100]


def test_corrupt_gzip_names_the_file(tmp_path):
    """A corrupt gzip raised a bare zlib.error (or BadGzipFile) that named no file."""
    path = tmp_path / "corrupt.bed.gz"
    data = bytearray(gzip.compress(b"chr1\t100\t300\n" * 2000))
    data[20:60] = b"\xff" * 40
    path.write_bytes(bytes(data))
    with pytest.raises(InputError, match="corrupt gzip") as err:
        read_peaks(path)
    assert str(path) in str(err.value)


def test_truncated_gzip_names_the_file(tmp_path):
    """A truncated gzip raised a bare EOFError."""
    path = tmp_path / "cut.narrowPeak.gz"
    data = gzip.compress(b"".join(b"chr1\t%d\t%d\t.\t0\t.\t1\t-1\t-1\t5\n" % (i * 10, i * 10 + 50)
                                  for i in range(5000)))
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match="truncated gzip") as err:
        read_peaks(path, "narrowPeak")
    assert str(path) in str(err.value)


def test_open_text_decides_by_content(tmp_path):
    plain, packed = tmp_path / "x.gz", tmp_path / "y.txt"
    plain.write_text("a\nb\n")
    packed.write_bytes(gzip.compress(b"c\n"))
    with open_text(plain) as a, open_text(packed) as b:
        assert a.read() == "a\nb\n" and b.read() == "c\n"


# ------------------------------------------------------------------------------------------ column counts
def test_bed_lines_of_different_widths_are_read_and_a_missing_strand_is_dot(tmp_path):
    """A 6-column line then a 3-column line was rejected as 'could not be parsed' with no line number."""
    path = tmp_path / "mixed.bed"
    path.write_text("chr1\t100\t301\tp\t0\t-\nchr1\t1000\t1200\nchr1\t5000\t5101\tq\nchr2\t7\t9\tr\t0\t+\textra\n")
    pk = read_peaks(path)
    assert pk.mid.tolist() == [200, 1100, 5050, 8]
    assert pk.minus.tolist() == [True, False, False, False]  # a missing strand counts as '.', which is '+'


def test_mixed_widths_with_summits_fall_back_to_the_centre(tmp_path):
    path = tmp_path / "mixed.narrowPeak"
    path.write_text("chr1\t100\t300\t.\t0\t.\t1\t-1\t-1\t30\nchr1\t1000\t1200\n")
    assert read_peaks(path, "narrowPeak", "summit").mid.tolist() == [130, 1100]


def test_a_bad_line_among_mixed_widths_is_named(tmp_path):
    path = tmp_path / "bad.bed"
    path.write_text("chr1\t100\t300\tp\t0\t+\nchr1\t1000\t1200\nchr1\tx\t5\n")
    with pytest.raises(InputError, match="expected integer start and end") as err:
        read_peaks(path)
    assert f"{path}:3:" in str(err.value)


# ------------------------------------------------------------------------------------------ genome files
def test_genome_given_as_sizes_under_any_name_or_as_fasta(tmp_path):
    """--genome with a chrom-sizes file not named .sizes/.fai gave a raw pyfaidx traceback."""
    sizes = tmp_path / "hg_lengths.txt"
    sizes.write_text("chr1\t5000\nchr2\t300\n")
    assert genome_sizes(sizes) == {"chr1": 5000, "chr2": 300}
    fasta = tmp_path / "g.fasta"
    fasta.write_text(">chr1\n" + "ACGT" * 25 + "\n>chr2 description\nAC\n")
    assert genome_sizes(fasta) == {"chr1": 100, "chr2": 2}
    assert not Path(f"{fasta}.fai").exists()  # nothing written beside the user's FASTA


def test_a_genome_that_is_neither_fasta_nor_sizes_is_refused(tmp_path):
    path = tmp_path / "genome.fa"
    path.write_text("this is not a genome\n")
    with pytest.raises(InputError, match="expected a FASTA genome") as err:
        sniff_genome(path)
    assert str(path) in str(err.value)


def _cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "basset.cli", *args], capture_output=True, text=True, cwd=cwd,
                          env=this_basset_env())


def test_cli_merge_peaks_with_a_sizes_file_and_a_bad_genome(tmp_path):
    bed = tmp_path / "a.bed"
    bed.write_text("chr1\t1000\t1200\n")
    sheet = tmp_path / "sheet.tsv"
    sheet.write_text(f"name\tpeaks\nA\t{bed}\n")
    sizes = tmp_path / "lengths.txt"
    sizes.write_text("chr1\t50000\n")
    res = _cli("merge-peaks", "--samples", str(sheet), "--genome", str(sizes), "--out", str(tmp_path / "o"))
    assert res.returncode == 0, res.stderr
    assert read_sites(tmp_path / "o/sites.bed")["chrom"].tolist() == ["chr1"]
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"\x00\x01garbage")
    res = _cli("merge-peaks", "--samples", str(sheet), "--genome", str(junk), "--out", str(tmp_path / "p"))
    assert res.returncode == 2 and str(junk) in res.stderr and "Traceback" not in res.stderr


# ------------------------------------------------------------------------------------------ config
@pytest.mark.parametrize("config, key", [
    ({"dataset": {"split": {"method": "random", "valid": 0.5, "test": 0.5}}}, "dataset.split.valid"),
    ({"dataset": {"split": {"method": "random", "valid": 0.6, "test": 0.45}}}, "dataset.split.test"),
    ({"model": {"preset": "cpu", "conv_widths": [19, 11]}}, "model.conv_widths"),
    ({"peaks": {"feature_size": 600, "merge_overlap": 600}}, "peaks.merge_overlap"),
    ({"run": ".."}, "run"),
    ({"run": "."}, "run"),
    ({"model": {"preset": "deepsea"}}, "model.seq_len, peaks.feature_size"),
    ({"satmut": {"window": 601}}, "satmut.window"),
])
def test_contradicting_keys_are_refused_naming_them(config, key):
    """Split fractions >= 1 failed in split_sites after the merge, layer lists of different lengths in
    train_model after the dataset; merge_overlap >= feature_size and run '..' were accepted."""
    with pytest.raises(ConfigError) as err:
        check_config(config)
    assert key in err.value.key


def test_valid_splits_and_models_pass():
    check_split({"method": "random", "valid": 0.1, "test": 0.1})
    check_split({"method": "random", "valid": 0.4999, "test": 0.5})
    check_split({"method": "random", "valid": 70000, "test": 71886})
    check_split({"method": "chromosomes", "valid": ["chr8"], "test": ["chr9"]})
    with pytest.raises(ConfigError, match="both validation and test"):
        check_split({"method": "chromosomes", "valid": ["chr8"], "test": ["chr8"]})
    assert check_model({"preset": "deepsea"}, 1000)["seq_len"] == 1000
    check_config({"peaks": {"feature_size": 600, "merge_overlap": 599}, "model": {"preset": "cpu"}})


# ------------------------------------------------------------------------------------------ full disks
def test_cli_merge_peaks_on_a_full_disk_leaves_no_partial_file(tmp_path, small_tmpfs):
    """`basset merge-peaks` left a truncated sites.bed under its final name when the disk filled."""
    rng = np.random.default_rng(0)
    starts = np.sort(rng.integers(0, 5_000_000, 4000))
    bed = tmp_path / "a.bed"
    bed.write_text("".join(f"chr1\t{s}\t{s + 200}\n" for s in starts))
    sheet = tmp_path / "sheet.tsv"
    sheet.write_text(f"name\tpeaks\nA\t{bed}\n")
    sizes = tmp_path / "sizes"
    sizes.write_text("chr1\t6000000\n")
    fill_up(small_tmpfs, 20_000)
    res = _cli("merge-peaks", "--samples", str(sheet), "--genome", str(sizes), "--out", str(small_tmpfs))
    assert res.returncode == 2, res.stderr
    assert "no space left on device" in res.stderr and str(small_tmpfs) in res.stderr
    assert "Traceback" not in res.stderr
    assert leftovers(small_tmpfs) == []  # no sites.bed, no temporary file


@pytest.mark.parametrize("command", ["merge-peaks", "bin-peaks"])
def test_a_disk_full_after_sites_bed_leaves_none_of_the_four_files(tmp_path, monkeypatch, command):
    """merge-peaks and bin-peaks write sites.bed, then the activity table: a full disk at the second left a complete
    sites.bed without its activity table (found by filling a tmpfs by hand). Now the four files appear together or
    not at all, and the error names the file that could not be written."""
    import basset.stages.peaks as stage
    from basset import cli

    (tmp_path / "a.bed").write_text("chr1\t1000\t1150\nchr1\t3000\t3200\n")
    (tmp_path / "sheet.tsv").write_text("name\tpeaks\tassay\nA\ta.bed\ttf\n")
    (tmp_path / "sizes").write_text("chr1\t10000\n")

    def full(path, *args, **kwargs):
        raise DiskFullError(path, "[Errno 28] No space left on device")

    monkeypatch.setattr(stage, "write_activity", full)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(DiskFullError, match="activity.tsv.gz"):
        cli.main(["-q", "--debug", command, "--samples", "sheet.tsv", "--genome", "sizes", "--out", "out",
                  *(["--length", "600"] if command == "bin-peaks" else [])])
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == []


def test_atomic_path_raises_disk_full_and_keeps_the_old_file(small_tmpfs):
    target = small_tmpfs / "table.tsv"
    target.write_text("old\n")
    with pytest.raises(DiskFullError, match="no space left on device writing") as err:
        with atomic_path(target) as tmp:
            tmp.write_bytes(b"x" * 400_000)
    assert str(target) in str(err.value)
    assert target.read_text() == "old\n" and leftovers(small_tmpfs) == ["table.tsv"]


def test_leftovers_of_killed_writers_are_swept(tmp_path):
    """Killed runs left hidden temporary files and staging folders behind for good."""
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (tmp_path / f".tmp-{dead.pid}-dataset.h5").write_bytes(b"partial")
    (tmp_path / f".stage-{dead.pid}-dataset.h5").mkdir()
    (tmp_path / f".stage-{dead.pid}-dataset.h5" / "bucket").write_bytes(b"x")
    live = tmp_path / f".tmp-{os.getpid()}-other.tsv"
    live.write_text("being written")
    (tmp_path / ".hidden-user-file").write_text("keep")
    removed = sweep_temporaries(tmp_path)
    assert sorted(p.name for p in removed) == [f".stage-{dead.pid}-dataset.h5", f".tmp-{dead.pid}-dataset.h5"]
    assert live.exists() and (tmp_path / ".hidden-user-file").exists()
    with atomic_path(tmp_path / "x.tsv") as tmp:  # every atomic write sweeps its folder first
        tmp.write_text("done")
    assert (tmp_path / "x.tsv").read_text() == "done"


def test_zlib_errors_are_not_swallowed_elsewhere():
    # read_errors only wraps decompression errors of the file it names; a zlib error is still an error
    assert issubclass(zlib.error, Exception)


def test_gzipped_tables_are_the_same_bytes_from_run_to_run(tmp_path):
    """The same table gives the same ``.gz`` bytes wherever and whenever it is written.

    Reproduction: pandas wrote the temporary file's name (``.tmp-<pid>-...``) into the gzip header, so two runs of
    the same stage (kmer_predictions.tsv.gz, activity.tsv.gz) differed in bytes though not in content.
    """
    import gzip

    from basset.tables import write_table

    frame = pd.DataFrame({"site": ["a", "b"], "p": [0.25, 0.5]})
    write_table(tmp_path / "one.tsv.gz", frame)
    (tmp_path / "other").mkdir()
    write_table(tmp_path / "other" / "two.tsv.gz", frame)
    one, two = (tmp_path / "one.tsv.gz").read_bytes(), (tmp_path / "other" / "two.tsv.gz").read_bytes()
    assert one == two
    assert one[3] & 0x08 == 0  # FNAME flag clear: no file name stored
    assert gzip.decompress(one).decode() == "site\tp\na\t0.25\nb\t0.5\n"
