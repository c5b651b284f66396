"""The `basset` command line runs every stage without Snakemake, and reports bad input cleanly."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import h5py
import pytest

ROOT = Path(__file__).resolve().parents[1]


def basset(cwd, *args):
    return subprocess.run([sys.executable, "-m", "basset.cli", "-q", *args], cwd=cwd, capture_output=True, text=True)


def test_help_lists_every_command():
    res = basset(ROOT, "--help")
    assert res.returncode == 0
    for cmd in ("simulate", "merge-peaks", "split", "build-dataset", "download", "info"):
        assert cmd in res.stdout


def test_stages_end_to_end(tmp_path):
    shutil.copy(ROOT / "config/samples/tiny.tsv", tmp_path / "tiny.tsv")
    shutil.copy(ROOT / "config/tiny.yaml", tmp_path / "tiny.yaml")
    res = basset(tmp_path, "simulate", "--samples", "tiny.tsv", "--out", "resources/tiny", "--params", "tiny.yaml")
    assert res.returncode == 0, res.stderr
    res = basset(tmp_path, "merge-peaks", "--samples", "tiny.tsv", "--genome", "resources/tiny/genome.fa",
                 "--out", "peaks")
    assert res.returncode == 0, res.stderr
    n_sites = len((tmp_path / "peaks/sites.bed").read_text().splitlines())
    assert f"{n_sites} sites of 600 bp from 6 targets" in res.stdout
    res = basset(tmp_path, "split", "--sites", "peaks/sites.bed", "--out", "splits.tsv", "--valid", "100",
                 "--test", "0.2")
    assert res.returncode == 0, res.stderr
    res = basset(tmp_path, "build-dataset", "--peaks-dir", "peaks", "--splits", "splits.tsv", "--genome",
                 "resources/tiny/genome.fa", "--out", "data.h5", "--n-handling", "zero")
    assert res.returncode == 0, res.stderr
    with h5py.File(tmp_path / "data.h5") as h5:
        assert h5["valid/seqs"].shape == (100, 600)
        assert h5["test/seqs"].shape[0] == round(0.2 * n_sites)
        assert h5.attrs["n_handling"] == "zero"
    info = json.loads(basset(tmp_path, "info", "data.h5").stdout)
    assert info["n_targets"] == 6


def test_bad_peak_file_gives_file_and_line_and_exit_2(tmp_path):
    (tmp_path / "g.fa").write_text(">chr1\n" + "ACGT" * 500 + "\n")
    (tmp_path / "p.bed").write_text("chr1\t10\t100\nchr1\tten\t200\n")
    (tmp_path / "s.tsv").write_text("name\tpeaks\ncell\tp.bed\n")
    res = basset(tmp_path, "merge-peaks", "--samples", "s.tsv", "--genome", "g.fa", "--out", "out")
    assert res.returncode == 2
    assert "p.bed:2: expected integer start and end" in res.stderr
    assert not (tmp_path / "out" / "sites.bed").exists()
