"""Tests of basset.dataset (splits, the reader, the streaming loader) and basset.stages.dataset (the writer and the
rules split_sites and build_dataset)."""

from __future__ import annotations

import os
import subprocess

import h5py
import numpy as np
import pandas as pd
import pytest
import torch
from conftest import fill_up, leftovers, run_script

from basset.dataset import (
    Dataset,
    H5Batches,
    align_to_sites,
    dataset_info,
    load_split,
    make_loader,
    split_labels,
)
from basset.errors import ConfigError, InputError
from basset.fileio import DiskFullError
from basset.sequence import Genome, decode, encode, one_hot, reverse_complement
from basset.stages.dataset import read_splits, write_dataset, write_splits
from basset.tables import write_summary

L = 60
T = 5


def _sites(chroms, starts, strands):
    starts = np.asarray(starts, dtype=np.int64)
    df = pd.DataFrame({"chrom": chroms, "start": starts, "end": starts + L, "score": 0, "strand": strands})
    df["name"] = [f"{c}:{s}-{s + L}({t})" for c, s, t in zip(df.chrom, df.start, df.strand)]
    return df[["chrom", "start", "end", "name", "score", "strand"]]


@pytest.fixture
def genome_fixture(tmp_path):
    """A 2-chromosome FASTA with an N block, plus 300 sites incl. off-end, unknown-chrom and N-rich ones."""
    rng = np.random.default_rng(0)
    seqs = {"chr1": rng.choice(list("ACGTacgt"), 3000), "chr2": rng.choice(list("ACGT"), 2000)}
    seqs["chr1"][1000:1100] = "N"  # N block: sites starting in [990, 1070) are > 50% N... see below
    seqs["chr2"][500:503] = "N"  # a few Ns inside normal sites
    fasta = tmp_path / "genome.fa"
    with open(fasta, "w") as fh:
        for name, s in seqs.items():
            text = "".join(s)
            fh.write(f">{name}\n")
            for i in range(0, len(text), 50):
                fh.write(text[i : i + 50] + "\n")
    text = {k: "".join(v).upper() for k, v in seqs.items()}
    chroms = rng.choice(["chr1", "chr2"], 290)
    starts = np.array([rng.integers(0, (3000 if c == "chr1" else 2000) - L + 1) for c in chroms])
    # keep random sites away from the N block, then add the special ones
    bad = (chroms == "chr1") & (starts > 1000 - L) & (starts < 1100)
    starts[bad] = 0
    special_chroms = ["chr1", "chr2", "chrX", "chrX", "chr1", "chr1", "chr1", "chr2", "chr2", "chr2"]
    special_starts = [2990, 1980, 10, 20, 1010, 1020, 1035, 480, 490, 470]
    chroms = np.concatenate([chroms, special_chroms])
    starts = np.concatenate([starts, special_starts])
    strands = rng.choice(["+", "-"], len(chroms))
    sites = _sites(chroms, starts, strands).drop_duplicates("name", ignore_index=True)  # sites are unique
    activity = rng.integers(0, 2, (len(sites), T), dtype=np.uint8)
    names = [f"cell{i}" for i in range(T)]
    return fasta, text, sites, activity, names


def _expected(text, site):
    seq = text[site.chrom][site.start : site.end]
    if site.strand == "-":
        seq = decode(reverse_complement(encode(seq)))
    return seq


# ------------------------------------------------------------------------------------------------ splits
def test_split_fractions_counts_deterministic():
    sites = _sites(["chr1"] * 1000, np.arange(1000) * 100, ["+"] * 1000)
    a = split_labels(sites, "random", 0.1, 0.2, seed=3)
    assert (a == "valid").sum() == 100 and (a == "test").sum() == 200 and (a == "train").sum() == 700
    assert np.array_equal(a, split_labels(sites, "random", 0.1, 0.2, seed=3))
    assert not np.array_equal(a, split_labels(sites, "random", 0.1, 0.2, seed=4))
    b = split_labels(sites, "random", 70, 150, seed=1)
    assert (b == "valid").sum() == 70 and (b == "test").sum() == 150


@pytest.mark.parametrize("n, valid, test, n_valid, n_test", [
    (7, 0.25, 0.15, 2, 1),     # 1.75 rounds up (int() would give 1), 1.05 rounds down
    (10, 0.05, 0.35, 0, 4),    # 0.5 and 3.5: round half to even, as Python's round
    (9, 0.5, 0.49, 4, 4),      # 4.5 -> 4, 4.41 -> 4; the fractions sum to 0.99 < 1, allowed
    (5, 1, 4, 1, 4),           # 1 is a count (one site), not a fraction; valid + test == n is allowed
    (5, 5, 0, 5, 0),           # a count equal to the number of sites
    (4, 0.0, 0.999, 0, 4),     # 3.996 -> 4 sites: every site held out
])
def test_split_counts_round_like_python_and_follow_the_seeded_permutation(n, valid, test, n_valid, n_test):
    sites = _sites(["chr1"] * n, np.arange(n) * 100, ["+"] * n)
    labels = split_labels(sites, "random", valid, test, seed=5)
    order = np.random.default_rng(5).permutation(n)  # the documented draw: valid first, then test
    assert list(labels[order]) == ["valid"] * n_valid + ["test"] * n_test + ["train"] * (n - n_valid - n_test)


def test_split_limits_are_exact():
    sites = _sites(["chr1"] * 5, np.arange(5) * 100, ["+"] * 5)
    with pytest.raises(ConfigError, match="dataset.split.test.*sum to < 1"):
        split_labels(sites, "random", 0.5, 0.5)  # exactly 1
    with pytest.raises(ConfigError, match="dataset.split.test.*exceed the 5 sites"):
        split_labels(sites, "random", 3, 3)  # 6 > 5; 5 is allowed (above)
    with pytest.raises(ConfigError, match="dataset.split.valid.*only 5"):
        split_labels(sites, "random", 6, 0)
    with pytest.raises(ConfigError, match="dataset.split.valid.*whole number"):
        split_labels(sites, "random", 1.5, 0)
    for bad in ("ten", None, float("nan"), float("inf")):
        with pytest.raises(ConfigError, match="dataset.split.valid.*fraction"):
            split_labels(sites, "random", bad, 0)
    with pytest.raises(ConfigError, match="dataset.split.valid.*list of chromosome names"):
        split_labels(sites, "chromosomes", 3, None)
    assert (split_labels(sites, "random", 0, 0) == "train").all()


@pytest.mark.parametrize("method, valid, test, key, words", [
    ("random", 101, 1, "dataset.split.valid", "only 100"),
    ("random", 1, 101, "dataset.split.test", "only 100"),
    ("random", 60, 50, "dataset.split.test", "valid (60) + test (50) sites exceed the 100 sites"),
    ("random", 0.5, 0.5, "dataset.split.test", "must sum to < 1, got 0.5 + 0.5"),
    ("random", 0.1, "x", "dataset.split.test", "got 'x'"),
    ("bogus", 0.1, 0.1, "dataset.split.method", "expected 'random' or 'chromosomes', got 'bogus'"),
    ("chromosomes", ["chr1"], ["chr1"], "dataset.split.test", "['chr1'] are in both valid and test"),
    ("chromosomes", 3, None, "dataset.split.valid", "list of chromosome names"),
    ("chromosomes", None, 3, "dataset.split.test", "list of chromosome names"),
])
def test_split_errors_name_the_key(method, valid, test, key, words):
    sites = _sites(["chr1"] * 100, np.arange(100) * 100, ["+"] * 100)
    with pytest.raises(ConfigError) as err:
        split_labels(sites, method, valid, test)
    assert err.value.key == key and str(err.value).startswith(f"{key}: ") and words in str(err.value)


def test_split_defaults_types_and_log(caplog):
    sites = _sites(["chr1"] * 10, np.arange(10) * 100, ["+"] * 10)
    labels = split_labels(sites, "random", 0.2, 0.1)  # the default seed is 1
    assert labels.dtype == object  # names longer than "train" could be stored
    order = np.random.default_rng(1).permutation(10)
    assert list(labels[order]) == ["valid"] * 2 + ["test"] + ["train"] * 7
    # a count of 1 and a fraction summing past 1 is fine: only fractions must sum below 1
    with caplog.at_level("INFO", logger="basset.dataset"):
        assert list(np.unique(split_labels(sites, "random", 1, 0.5), return_counts=True)[1]) == [5, 4, 1]  # test, train, valid
    assert "split 10 sites (random): train 4, valid 1, test 5" in caplog.text
    assert (split_labels(sites, "random", 0.5, 1) == "test").sum() == 1


def test_split_errors():
    sites = _sites(["chr1"] * 100, np.arange(100) * 100, ["+"] * 100)
    with pytest.raises(ConfigError, match="dataset.split.valid"):
        split_labels(sites, "random", 101, 1)
    with pytest.raises(ConfigError, match="dataset.split.test"):
        split_labels(sites, "random", 60, 50)
    with pytest.raises(ConfigError, match="dataset.split.test"):
        split_labels(sites, "random", 0.5, 0.5)
    with pytest.raises(ConfigError, match="dataset.split.valid"):
        split_labels(sites, "random", -0.1, 0.1)
    with pytest.raises(ConfigError, match="dataset.split.method"):
        split_labels(sites, "bogus", 0.1, 0.1)
    with pytest.raises(ConfigError, match="both"):
        split_labels(sites, "chromosomes", ["chr1"], ["chr1"])


def test_split_chromosomes(caplog):
    sites = _sites(["chr1"] * 5 + ["chr2"] * 3 + ["chr3"] * 2, np.arange(10) * 100, ["+"] * 10)
    labels = split_labels(sites, "chromosomes", valid=["chr2"], test="chr3")
    assert list(labels) == ["train"] * 5 + ["valid"] * 3 + ["test"] * 2
    with caplog.at_level("WARNING"):
        labels = split_labels(sites, "chromosomes", valid=["chr2", "chr9"], test=[])
    assert "chr9" in caplog.text and (labels == "valid").sum() == 3


def test_splits_roundtrip_and_align(tmp_path):
    names = np.array(["a", "b", "c"], dtype=object)
    labels = np.array(["train", "valid", "test"], dtype=object)
    path = tmp_path / "splits.tsv"
    write_splits(path, names, labels)
    assert path.read_text().splitlines()[0] == "site\tsplit"
    n2, l2 = read_splits(path)
    assert list(n2) == list(names) and list(l2) == list(labels)
    assert align_to_sites(["a", "b", "c"], n2, path) == slice(None)
    idx = align_to_sites(["c", "a", "b"], n2, path)
    assert list(l2[idx]) == ["test", "train", "valid"]
    with pytest.raises(InputError, match="missing"):
        align_to_sites(["a", "zz"], n2, path)
    path.write_text("site\tsplit\na\ttrain\nb\tbogus\n")
    with pytest.raises(InputError, match=r"splits.tsv:3"):
        read_splits(path)


# ----------------------------------------------------------------------------------------------- dataset
@pytest.fixture
def built(tmp_path, genome_fixture):
    fasta, text, sites, activity, names = genome_fixture
    splits = split_labels(sites, "random", 0.2, 0.2, seed=1)
    out = tmp_path / "data.h5"
    with Genome(fasta) as g:
        summary = write_dataset(out, g, sites, activity, names, splits, chunk_rows=16, progress=False)
    return out, summary, text, sites, activity, names, splits


def test_build_contents(built):
    out, summary, text, sites, activity, names, splits = built
    assert summary["skipped_unknown_chrom"] == 2
    assert summary["skipped_off_chrom_end"] == 2
    assert summary["skipped_n_rich"] == 3  # chr1 starts 1010, 1020, 1035 are >= 25/60 ... > 50% N
    assert summary["kept"] == len(sites) - 7
    assert summary["train"] + summary["valid"] + summary["test"] == summary["kept"]
    assert sorted(p.name for p in out.parent.iterdir()) == ["data.h5", "genome.fa", "genome.fa.fai"]
    with h5py.File(out, "r") as h5:
        assert [t.decode() for t in h5["target_names"][...]] == names
        assert h5.attrs["seq_length"] == L and h5.attrs["alphabet"] == "ACGTN" and h5.attrs["n_handling"] == "random"
        seen = []
        for split in ("train", "valid", "test"):
            g = h5[split]
            n = summary[split]
            assert g["seqs"].shape == (n, L) and g["seqs"].dtype == np.uint8
            assert g["targets"].shape == (n, T) and g["targets"].dtype == np.uint8
            seqs, idx = g["seqs"][...], g["site_index"][...]
            assert g["start"].dtype == np.int64 and g["end"].dtype == np.int64
            assert np.all(splits[idx] == split)
            assert np.array_equal(g["targets"][...], activity[idx])
            assert np.array_equal(g["start"][...], sites.start.to_numpy()[idx])
            assert [c.decode() for c in g["chrom"][...]] == list(sites.chrom.to_numpy()[idx])
            assert [s.decode() for s in g["strand"][...]] == list(sites.strand.to_numpy()[idx])
            assert not (seqs == 4).any()  # random N handling leaves no N
            for row, i in zip(seqs, idx):
                exp = _expected(text, sites.iloc[i])
                got = decode(row)
                mask = np.array([c != "N" for c in exp])
                assert np.array_equal(np.array(list(got))[mask], np.array(list(exp))[mask])
            # stored order is shuffled, not site order
            assert n < 3 or not np.all(np.diff(idx) > 0)
            seen.extend(idx)
        assert len(seen) == len(set(seen)) == summary["kept"]
    info = dataset_info(out)
    assert info["n_sites"] == {s: summary[s] for s in ("train", "valid", "test")} and info["target_names"] == names


@pytest.mark.parametrize("n_handling", ["zero", "uniform"])
def test_build_reverse_complement_and_n_zero(tmp_path, genome_fixture, n_handling):
    """zero and uniform (the paper's 0.25 per channel, applied by the model) both keep N as code 4 in the file,
    and the file says which."""
    fasta, text, sites, activity, names = genome_fixture
    sites = sites.copy()
    sites["strand"] = np.where(np.arange(len(sites)) % 2, "-", "+")
    splits = np.full(len(sites), "train", dtype=object)
    out = tmp_path / "zero.h5"
    with Genome(fasta) as g:
        summary = write_dataset(
            out, g, sites, activity, names, splits, {"n_handling": n_handling, "compression": "lzf"}, progress=False
        )
    with h5py.File(out, "r") as h5:
        assert h5.attrs["n_handling"] == n_handling
    codes, targets = load_split(out, "train")
    with h5py.File(out, "r") as h5:
        idx = h5["train/site_index"][...]
    assert (codes == 4).any()  # the Ns in chr2 are kept
    assert summary["n_bases_replaced"] == 0
    for row, i in zip(codes, idx):
        assert decode(row) == _expected(text, sites.iloc[i])
    assert np.array_equal(targets, activity[idx])


def test_build_deterministic_and_seeded(tmp_path, genome_fixture):
    fasta, text, sites, activity, names = genome_fixture
    splits = np.full(len(sites), "train", dtype=object)
    with Genome(fasta) as g:
        for name, seed in (("a", 1), ("b", 1), ("c", 2)):
            write_dataset(tmp_path / f"{name}.h5", g, sites, activity, names, splits, {"compression": "none"},
                          seed=seed, progress=False)
    a, b, c = (load_split(tmp_path / f"{n}.h5", "train")[0] for n in "abc")
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_build_many_buckets(tmp_path, genome_fixture):
    """Small buckets and chunks (many buckets, carried remainders) store the same rows per site."""
    fasta, text, sites, activity, names = genome_fixture
    splits = split_labels(sites, "random", 0.3, 0.1, seed=2)
    with Genome(fasta) as g:
        s1 = write_dataset(tmp_path / "one.h5", g, sites, activity, names, splits, progress=False)
        s2 = write_dataset(
            tmp_path / "many.h5", g, sites, activity, names, splits, bucket_rows=7, chunk_rows=4, progress=False
        )
    assert s1 == s2
    for split in ("train", "valid", "test"):
        with h5py.File(tmp_path / "one.h5", "r") as h1, h5py.File(tmp_path / "many.h5", "r") as h2:
            i1, i2 = h1[split]["site_index"][...], h2[split]["site_index"][...]
            assert sorted(i1) == sorted(i2) and len(set(i2)) == len(i2) == s1[split]
            o1, o2 = np.argsort(i1), np.argsort(i2)
            assert np.array_equal(h1[split]["seqs"][...][o1], h2[split]["seqs"][...][o2])
            assert np.array_equal(h2[split]["targets"][...], activity[i2])


def test_build_bad_inputs(tmp_path, genome_fixture):
    fasta, text, sites, activity, names = genome_fixture
    splits = np.full(len(sites), "train", dtype=object)
    with Genome(fasta) as g:
        with pytest.raises(ConfigError, match="n_handling"):
            write_dataset(tmp_path / "x.h5", g, sites, activity, names, splits, {"n_handling": "drop"})
        with pytest.raises(ValueError, match="columns"):
            write_dataset(tmp_path / "x.h5", g, sites, activity, names[:2], splits)
        bad = sites.copy()
        bad.loc[3, "end"] += 1
        with pytest.raises(InputError, match="same positive width"):
            write_dataset(tmp_path / "x.h5", g, bad, activity, names, splits)
    assert not (tmp_path / "x.h5").exists()


@pytest.mark.parametrize("free_kib, failing", [(0, "staging"), (24, "hdf5")], ids=["staging", "hdf5"])
def test_build_on_a_full_disk(small_tmpfs, genome_fixture, free_kib, failing):
    """build_dataset on a full disk raises DiskFullError naming the dataset and leaves nothing behind.

    Reproduction: build the dataset into a tmpfs with ``free_kib`` KiB left: the staging buckets (0 KiB) or
    the HDF5 file (24 KiB: the 18 kB of buckets fit, the ~60 kB file does not) run out of space. Before the
    fix the first ended with a bare ``OSError: [Errno 28]`` and the second with h5py's "file write failed
    ... errno = 28" or a segmentation fault of HDF5 2.0 (when it closed datasets it had failed to flush).
    """
    fasta, text, sites, activity, names = genome_fixture
    splits = split_labels(sites, "random", 0.2, 0.2, seed=1)
    out = small_tmpfs / "data.h5"
    fill_up(small_tmpfs, free_kib * 1024)
    with Genome(fasta) as g, pytest.raises(DiskFullError, match=f"^no space left on device writing {out}") as err:
        write_dataset(out, g, sites, activity, names, splits, {"compression": "none"}, progress=False)
    assert ("while staging" in str(err.value)) == (failing == "staging")
    assert leftovers(small_tmpfs) == []


def test_build_sweeps_leftovers_of_killed_runs(tmp_path, genome_fixture):
    """A build removes the temporary file and staging folder that a killed build left in its folder.

    Reproduction: leave ``.tmp-<pid>-data.h5`` and ``.stage-<pid>-x/`` of a finished process (as ``kill -9``
    does) next to the dataset and build it again. Before the fix they stayed for good (and the staging
    folder could hold gigabytes of buckets). Those of a live process are left alone.
    """
    fasta, text, sites, activity, names = genome_fixture
    splits = split_labels(sites, "random", 0.2, 0.2, seed=1)
    dead = subprocess.Popen(["true"])
    dead.wait()
    folder = tmp_path / "out"
    (folder / f".stage-{dead.pid}-x").mkdir(parents=True)
    (folder / f".stage-{dead.pid}-x" / "bucket-0.bin").write_bytes(bytes(100))
    (folder / f".tmp-{dead.pid}-data.h5").write_bytes(b"half a dataset")
    (folder / f".tmp-{os.getpid()}-other.h5").write_bytes(b"another job, still writing")
    with Genome(fasta) as g:
        write_dataset(folder / "data.h5", g, sites, activity, names, splits, progress=False)
    assert leftovers(folder) == [f".tmp-{os.getpid()}-other.h5", "data.h5"]


def test_write_summary(tmp_path):
    write_summary(tmp_path / "s.tsv", {"train": 3, "skipped_n_rich": 1})
    assert (tmp_path / "s.tsv").read_text().splitlines() == ["key\tvalue", "train\t3", "skipped_n_rich\t1"]


# ------------------------------------------------------------------------------------------------ loader
@pytest.fixture
def big_h5(tmp_path):
    """1000 rows of L=8 whose first two codes spell the row number (base 5 is not needed: use targets)."""
    n, Lb = 1000, 8
    rng = np.random.default_rng(0)
    seqs = rng.integers(0, 4, (n, Lb), dtype=np.uint8)
    rows = np.arange(n)
    targets = np.stack([rows % 256, rows // 256], axis=1).astype(np.uint8)  # row id encoded in targets
    path = tmp_path / "big.h5"
    with h5py.File(path, "w") as h5:
        h5.attrs["seq_length"] = Lb
        h5.create_dataset("target_names", data=np.array(["lo", "hi"], dtype=object), dtype=h5py.string_dtype())
        g = h5.create_group("train")
        g.create_dataset("seqs", data=seqs, chunks=(16, Lb), compression="gzip")
        g.create_dataset("targets", data=targets, chunks=(16, 2), compression="gzip")
    return path, seqs


def _row_ids(batches):
    return np.concatenate([y[:, 0].numpy().astype(int) + 256 * y[:, 1].numpy().astype(int) for _, y in batches])


def test_loader_file_order_and_shapes(big_h5):
    path, seqs = big_h5
    batches = list(H5Batches(path, "train", batch_size=64, shuffle=False, block_rows=100))
    assert all(x.shape == (64, 8) and x.dtype == torch.uint8 and y.shape == (64, 2) for x, y in batches[:-1])
    assert batches[-1][0].shape == (1000 % 64, 8)
    assert np.array_equal(_row_ids(batches), np.arange(1000))
    assert np.array_equal(torch.cat([x for x, _ in batches]).numpy(), seqs)
    x = batches[0][0]
    oh = one_hot(x)
    assert oh.shape == (64, 4, 8) and oh.dtype == torch.float32 and torch.all(oh.sum(1) == 1)
    dropped = list(H5Batches(path, "train", batch_size=64, shuffle=False, drop_last=True))
    assert len(dropped) == 1000 // 64 and all(x.shape[0] == 64 for x, _ in dropped)


def test_loader_shuffle_epochs(big_h5):
    path, _ = big_h5
    ds = H5Batches(path, "train", batch_size=50, shuffle=True, seed=7, block_rows=64, buffer_blocks=2)
    e0 = _row_ids(ds)
    assert np.array_equal(np.sort(e0), np.arange(1000))
    assert not np.array_equal(e0, np.arange(1000))
    assert np.array_equal(e0, _row_ids(H5Batches(path, "train", batch_size=50, seed=7, block_rows=64, buffer_blocks=2)))
    ds.set_epoch(1)
    e1 = _row_ids(ds)
    assert np.array_equal(np.sort(e1), np.arange(1000)) and not np.array_equal(e0, e1)


def test_loader_workers_exactly_once(big_h5):
    path, _ = big_h5
    loader = make_loader(path, "train", batch_size=32, shuffle=True, seed=1, num_workers=2, block_rows=64)
    for epoch in (0, 1):
        loader.dataset.set_epoch(epoch)
        ids = _row_ids(list(loader))
        assert len(ids) == 1000 and np.array_equal(np.sort(ids), np.arange(1000))


def test_loader_ranks_exactly_once(big_h5):
    path, _ = big_h5
    parts = [
        _row_ids(H5Batches(path, "train", batch_size=32, seed=3, epoch=2, block_rows=48, rank=r, world_size=2))
        for r in (0, 1)
    ]
    assert len(set(parts[0]) & set(parts[1])) == 0
    assert np.array_equal(np.sort(np.concatenate(parts)), np.arange(1000))
    with pytest.raises(ValueError):
        H5Batches(path, "train", rank=2, world_size=2)


def test_loader_on_built_dataset(built):
    out, summary, *_ = built
    batches = list(make_loader(out, "train", batch_size=16, shuffle=True, seed=1))
    assert sum(x.shape[0] for x, _ in batches) == summary["train"]
    x, y = batches[0]
    assert x.shape == (16, L) and y.shape == (16, T) and one_hot(x).shape == (16, 4, L)


def test_reader_rows_columns_and_site_index(built):
    out, summary, *_ = built
    data = Dataset(out)
    assert data.n_sites == {s: summary[s] for s in ("train", "valid", "test")} and data.n_targets == T
    codes, targets = data.arrays("train")
    rows = np.array([0, 3, summary["train"] - 1])
    np.testing.assert_array_equal(data.codes("train", rows), codes[rows])
    np.testing.assert_array_equal(data.targets("train", [4, 1]), targets[:, [4, 1]])
    np.testing.assert_array_equal(data.targets("train", [2], rows), targets[rows][:, [2]])
    with h5py.File(out, "r") as h5:
        np.testing.assert_array_equal(data.site_index("valid"), h5["valid/site_index"][...])
    assert data.columns(["cell3", "cell0"]) == [3, 0]
    with pytest.raises(InputError, match="no target.*nope"):
        data.columns(["nope"])
    with pytest.raises(InputError, match="no split 'other'"):
        data.codes("other")


# ------------------------------------------------------------------------------------ workflow scripts
def test_scripts(tmp_path, genome_fixture):
    fasta, text, sites, activity, names = genome_fixture
    sites.to_csv(tmp_path / "sites.bed", sep="\t", header=False, index=False)
    act = pd.DataFrame(activity, columns=names)
    act.insert(0, "site", sites["name"].to_numpy())
    act.iloc[::-1].to_csv(tmp_path / "activity.tsv.gz", sep="\t", index=False)  # reversed rows are realigned
    run_script("split_sites", input={"sites": str(tmp_path / "sites.bed")},
               output={"splits": str(tmp_path / "splits.tsv")},
               params={"split": {"method": "random", "valid": 0.2, "test": 30}, "seed": 1}, log=tmp_path / "split.log")
    run_script("build_dataset",
               input={"sites": str(tmp_path / "sites.bed"), "activity": str(tmp_path / "activity.tsv.gz"),
                      "splits": str(tmp_path / "splits.tsv"), "fasta": str(fasta), "fai": str(fasta) + ".fai"},
               output={"h5": str(tmp_path / "out.h5"), "summary": str(tmp_path / "summary.tsv")},
               params={"n_handling": "random", "max_n_fraction": 0.5, "compression": "none", "seed": 1},
               log=tmp_path / "build.log")
    summary = pd.read_csv(tmp_path / "summary.tsv", sep="\t").set_index("key")["value"]
    assert summary["test"] + summary["valid"] + summary["train"] == summary["kept"] == len(sites) - 7
    assert summary["skipped_n_rich"] == 3
    with h5py.File(tmp_path / "out.h5", "r") as h5:
        idx = h5["valid/site_index"][...]
        assert np.array_equal(h5["valid/targets"][...], activity[idx])
        assert h5["valid/seqs"].compression is None
