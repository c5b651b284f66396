"""Every `basset` command turns a missing input file, a bad option value and an unknown target name into one line
on stderr, ``basset COMMAND: error: ...``, that names the file, the option and its value or the name, with exit
status 2 and no traceback; ``--debug`` shows the traceback instead.

The commands come from the parser: a new command fails :func:`test_every_command_has_cases` until it has cases
here, and a new input-path option (an argument type of ``basset.cli.INPUT_TYPES``) gets its missing-file case
from :data:`BASE` automatically. The commands run in-process (``basset.cli.main``) except in
:func:`test_end_to_end_one_line_and_exit_2`.
"""

import argparse
import json
import logging
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest
from conftest import this_basset_env
from test_cli import _small_model

from basset import cli
from basset.errors import UsageError

ROOT = Path(__file__).resolve().parents[1]
L = 60  # the model's input length
MISSING = "missing/nothing.here"

#: a valid command line of each command: every input option given (an existing file of the right kind), so that
#: replacing one value tests that option alone; "OUT" is an output that is never written
BASE = {
    "simulate": ["--samples", "sheet.tsv", "--out", "OUT", "--params", "params.yaml"],
    "merge-peaks": ["--samples", "sheet.tsv", "--genome", "genome.fa", "--out", "OUT"],
    "bin-peaks": ["--samples", "sheet.tsv", "--genome", "genome.fa", "--out", "OUT"],
    "split": ["--sites", "sites.bed", "--out", "OUT/splits.tsv"],
    "build-dataset": ["--peaks-dir", "peaks", "--splits", "splits.tsv", "--genome", "genome.fa", "--out",
                      "OUT/data.h5"],
    "build-coverage": ["--samples", "sheet.tsv", "--genome", "genome.fa", "--out", "OUT/data.h5"],
    "evaluate-coverage": ["--model", "model.pt", "--dataset", "data.h5", "--out", "OUT", "--samples", "sheet.tsv"],
    "window-ablation": ["--model", "model.pt", "--short-model", "short.pt", "--dataset", "data.h5", "--out", "OUT",
                        "--samples", "sheet.tsv"],
    "delta-track": ["--model", "model.pt", "--sad", "sad.h5", "--genome", "genome.fa", "--out", "OUT", "--samples",
                    "sheet.tsv"],
    "train": ["--dataset", "data.h5", "--out", "OUT"],
    "kmer": ["--dataset", "data.h5", "--out", "OUT"],
    "gkmsvm": ["--dataset", "data.h5", "--out", "OUT"],
    "evaluate": ["--model", "model.pt", "--dataset", "data.h5", "--out", "OUT", "--kmer-metrics", "kmer.tsv",
                 "--sites", "sites.bed", "--genes", "genes.gtf", "--kmer-predictions", "kmer_predictions.tsv",
                 "--gkmsvm-predictions", "gkmsvm_predictions.tsv", "--samples", "sheet.tsv"],
    "motifs": ["--model", "model.pt", "--dataset", "data.h5", "--out", "OUT", "--database", "db.meme", "--truth",
               "truth.json"],
    "satmut": ["--model", "model.pt", "--fasta", "seqs.fa", "--out", "OUT"],
    "sad": ["--model", "model.pt", "--vcf", "snps.vcf", "--genome", "genome.fa", "--out", "OUT/sad.tsv", "--pics",
            "pics.tsv", "--samples", "sheet.tsv"],
    "gather-sad": ["shard0", "--out", "OUT", "--genome", "genome.fa", "--model", "model.pt", "--pics", "pics.tsv"],
    "select-variants": ["--source", "snps.vcf", "--pics", "pics.tsv", "--out", "OUT/pics.vcf.gz"],
    "report": ["--results", "results", "--truth", "truth.json", "--paper-aucs", "aucs.tsv", "--config", "params.yaml"],
    "download": ["file:FILE_URL", "OUT/dest"],
    "info": ["data.h5"],
    "predict": ["--model", "model.pt", "--fasta", "seqs.fa", "--out", "OUT/p.tsv", "--bed", "sites.bed", "--genome",
                "genome.fa"],
    "attribute": ["--model", "model.pt", "--dataset", "data.h5", "--sites-bed", "sites.bed", "--out", "OUT",
                  "--samples", "sheet.tsv", "--instances", "instances.tsv", "--truth", "truth.json"],
    "transfer": ["--model", "model.pt", "--dataset", "data.h5", "--out", "OUT", "--metrics", "kmer.tsv"],
}


def _with(command, *extra, replace=None):
    """BASE of ``command`` with ``replace`` ({old: new}) applied and ``extra`` appended (argparse takes the last
    value of an option given twice)."""
    return [command, *[(replace or {}).get(a, a) for a in BASE[command]], *extra]


#: (argv, what the line must contain besides "argument OPTION"); a value of an option that is a config key is
#: checked against the schema's type and range
BAD_VALUES = [
    (_with("simulate", "--seed", "abc"), "--seed", "'abc'"),
    (_with("simulate", "--seed", "-1"), "--seed", "'-1'"),
    (_with("merge-peaks", "--feature-size", "ten"), "--feature-size", "'ten'"),
    (_with("merge-peaks", "--feature-size", "10"), "--feature-size", "'10'"),
    (_with("merge-peaks", "--merge-overlap", "-5"), "--merge-overlap", "'-5'"),
    (_with("merge-peaks", "--merge-overlap", "600"), "--merge-overlap", "600", "--feature-size 600"),
    (_with("merge-peaks", "--midpoint", "middle"), "--midpoint", "'middle'"),
    (_with("split", "--valid", "1.5"), "--valid", "'1.5'"),
    (_with("split", "--test", "-0.1"), "--test", "'-0.1'"),
    (_with("split", "--valid", "ten"), "--valid", "'ten'"),
    (_with("build-dataset", "--max-n-fraction", "1.5"), "--max-n-fraction", "'1.5'"),
    (_with("build-dataset", "--n-handling", "drop"), "--n-handling", "'drop'"),
    (_with("train", "--preset", "nope"), "--preset", "'nope'"),
    (_with("train", "--set", "lr"), "--set", "'lr'", "KEY=VALUE"),
    (_with("train", "--set", "learning_rate=0.1"), "--set", "'learning_rate'", "unknown key"),
    (_with("train", "--set", "lr=fast"), "--set", "'lr=fast'"),
    (_with("train", "--set", "lr=nan"), "--set", "'nan'"),  # NaN passes jsonschema's bounds
    (_with("train", "--set", "batch_size=0"), "--set", "'batch_size=0'"),
    (_with("train", "--set", "optimizer=sgd"), "--set", "'optimizer=sgd'", "rmsprop"),
    (_with("train", "--model", "filters=8"), "--model", "'filters'", "unknown key"),
    (_with("train", "--model", "conv_filters=[a]"), "--model", "'conv_filters=[a]'"),
    (_with("kmer", "--k", "1"), "--k", "'1'"),
    (_with("kmer", "--C", "0"), "--C", "'0'"),
    (_with("kmer", "--max-train", "many"), "--max-train", "'many'"),
    (_with("kmer", "--jobs", "0"), "--jobs", "'0'"),
    (_with("gkmsvm", "--max-train", "1"), "--max-train", "'1'"),
    (_with("gkmsvm", "--l", "ten"), "--l", "'ten'"),
    (_with("gkmsvm", "--n-targets", "0"), "--n-targets", "'0'"),
    (_with("gkmsvm", "--max-test", "0"), "--max-test", "'0'"),
    (_with("gkmsvm", "--device", "gpu"), "--device", "'gpu'"),
    (_with("evaluate", "--device", "gpu"), "--device", "'gpu'"),
    (_with("evaluate", "--seed", "1.5"), "--seed", "'1.5'"),
    (_with("motifs", "--split", "training"), "--split", "'training'"),
    (_with("motifs", "--device", "tpu"), "--device", "'tpu'"),
    (_with("satmut", "--start", "-1"), "--start", "'-1'"),
    (_with("satmut", "--end", "x"), "--end", "'x'"),
    (_with("satmut", "--start", str(L)), "--start", f"{L} is outside the model's {L} bp input"),
    (_with("satmut", "--start", "30", "--end", "10"), "--end", "10"),
    (_with("sad", "--high-pics", "1.5"), "--high-pics", "'1.5'"),
    (_with("sad", "--low-pics", "0.6"), "--low-pics", "0.6", "--high-pics 0.5"),
    (_with("sad", "--batch-size", "0"), "--batch-size", "'0'"),
    (_with("sad", "--score", "median"), "--score", "'median'"),
    (_with("sad", "--weights", "c1"), "--weights", "'c1'"),
    (_with("sad", "--weights", "c1=heavy"), "--weights", "'heavy'"),
    (_with("sad", "--shard", "2/2"), "--shard", "'2/2'", "0 <= K < N"),
    (_with("sad", "--shard", "1"), "--shard", "'1'"),
    (_with("gather-sad", "--high-pics", "2"), "--high-pics", "'2'"),
    (_with("gather-sad", replace={"shard0": "peaks"}), "DIR", "no such file: peaks/sad.h5"),
    (_with("select-variants", "--timeout", "0"), "--timeout", "'0'"),
    (_with("select-variants", "--timeout", "soon"), "--timeout", "'soon'"),
    (_with("report", replace={"results": "sheet.tsv"}), "--results", "sheet.tsv is a file, not a folder"),
    (_with("download", replace={"file:FILE_URL": "example.org/x"}), "url", "example.org/x", "no scheme"),
    (_with("download", "--retries", "0"), "--retries", "'0'"),
    (_with("bin-peaks", "--bin", "0"), "--bin", "'0'"),
    (_with("build-coverage", "--window", "0"), "--window", "'0'"),
    (_with("build-coverage", "--scale", "0"), "--scale", "'0'"),
    (_with("build-coverage"), "--samples", "sheet.tsv needs a coverage column"),
    (_with("evaluate-coverage", "--figure-tracks", "0"), "--figure-tracks", "'0'"),
    (_with("window-ablation", "--device", "tpu"), "--device", "'tpu'"),
    (_with("delta-track", "--figure-tracks", "x"), "--figure-tracks", "'x'"),
    (_with("bin-peaks", "--bin-fraction", "1"), "--bin-fraction", "'1'"),
    (_with("bin-peaks", "--length", "0"), "--length", "'0'"),
    (_with("download", "--deadline", "-1"), "--deadline", "'-1'"),
    (_with("download", "--md5", "xyz"), "--md5", "'xyz'"),
    (_with("info", replace={"data.h5": "sheet.tsv"}), "dataset", "sheet.tsv is not an HDF5 file"),
    (_with("predict", "--stride", "0"), "--stride", "'0'"),
    (_with("predict", "--bigwig", "OUT/bw", "--stride", "100000"), "--stride", "100000 bp is longer"),
    (_with("attribute", "--sites", "0"), "--sites", "'0'"),
    (_with("attribute", "--n-shuffles", "many"), "--n-shuffles", "'many'"),
    (_with("attribute", "--by", "cell"), "--by", "'cell'"),
    (_with("transfer", "--passes", "0"), "--passes", "'0'"),
    (_with("transfer", "--tolerance", "-1"), "--tolerance", "'-1'"),
]

#: option -> (argv with an unknown target, what the line must contain): the model's targets are c1 and c2
UNKNOWN_TARGETS = {
    ("satmut", "--target"): (_with("satmut", "--target", "nope"), "'nope'", "c1, c2"),
    ("sad", "--weights"): (_with("sad", "--weights", "c1=1", "tf=1", "nope=2"), "'nope'", "c1, c2",
                           "nor an assay of sheet.tsv: histone, tf"),
    ("gkmsvm", "--targets"): (_with("gkmsvm", "--targets", "c2", "nope"), "'nope'", "the dataset data.h5 holds c1, c2"),
    ("predict", "--targets"): (_with("predict", "--bigwig", "OUT/bw", "--targets", "nope"), "'nope'", "c1, c2"),
    ("attribute", "--targets"): (_with("attribute", "--targets", "c1", "nope"), "'nope'", "c1, c2"),
    ("transfer", "--targets"): (_with("transfer", "--targets", "nope"), "'nope'", "the dataset data.h5 holds c1, c2"),
}


def _subparsers() -> dict[str, argparse.ArgumentParser]:
    parser = cli.build_parser()
    return next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices


def _name(action) -> str:
    """The argument's name as argparse's messages give it."""
    return "/".join(action.option_strings) or action.metavar or action.dest


def _is_input(action) -> bool:
    return action.type in (*cli.INPUT_TYPES, cli.download_url)


def _missing_cases():
    """(command, action) of each input argument of each command."""
    for command, sub in _subparsers().items():
        for action in sub._actions:
            if _is_input(action):
                yield command, action


def _targets_options():
    """(command, option) of every option that takes target names (its metavar says TARGET)."""
    return {(command, _name(a)) for command, sub in _subparsers().items() for a in sub._actions
            if a.option_strings and "TARGET" in (a.metavar or a.dest.upper())}


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    """A folder with one small file of each kind BASE names; the model is real (targets c1, c2; input L bp)."""
    d = tmp_path_factory.mktemp("inputs")
    for name in ("sheet.tsv", "genome.fa", "sites.bed", "sad.h5", "splits.tsv", "kmer.tsv", "kmer_predictions.tsv",
                 "gkmsvm_predictions.tsv", "genes.gtf", "db.meme",
                 "snps.vcf", "pics.tsv", "aucs.tsv", "download.txt", "instances.tsv"):
        (d / name).write_text("text\n")
    (d / "sheet.tsv").write_text("name\tpeaks\tgroup\tassay\nc1\tx.bed\terythroid\ttf\nc2\tx.bed\terythroid\thistone\n")
    (d / "params.yaml").write_text("simulate: {}\n")
    (d / "truth.json").write_text("{}\n")
    (d / "seqs.fa").write_text(">s\n" + "ACGT" * (L // 4) + "\n")
    for folder in ("peaks", "results", "shard0"):
        (d / folder).mkdir()
    for name in ("sad.h5", "sad.rejects.tsv.gz", "summary.tsv"):
        (d / "shard0" / name).write_text("text\n")
    with h5py.File(d / "data.h5", "w") as h5:  # a dataset with targets c1, c2 and no split
        h5["target_names"] = np.array([b"c1", b"c2"])
    _small_model(d / "model.pt", L=L, names=("c1", "c2"))
    (d / "short.pt").write_bytes((d / "model.pt").read_bytes())
    return d


@pytest.fixture
def run(inputs, monkeypatch, capsys):
    """``run(argv) -> (exit status, stderr)``: ``basset.cli.main`` in the inputs' folder. The logging that main
    sets up (handlers on stderr, the excepthook) is undone afterwards."""
    monkeypatch.chdir(inputs)
    root = logging.getLogger()
    handlers, level, hook = root.handlers[:], root.level, sys.excepthook

    def call(argv):
        argv = [(inputs / "download.txt").as_uri() if a == "file:FILE_URL" else a for a in argv]
        try:
            status = cli.main(argv)
        except SystemExit as exc:
            status = exc.code
        out, err = capsys.readouterr()
        return status, err

    yield call
    for handler in [h for h in root.handlers if h not in handlers]:
        root.removeHandler(handler)
    for handler in handlers:
        if handler not in root.handlers:
            root.addHandler(handler)
    root.setLevel(level)
    sys.excepthook = hook
    logging.captureWarnings(False)


def one_line_error(command, status, err) -> str:
    """The single line of stderr, checked to be ``basset COMMAND: error: ...`` with exit status 2."""
    assert status == 2, err
    assert "Traceback" not in err, err
    assert err.endswith("\n") and err.count("\n") == 1, f"expected one line on stderr, got:\n{err}"
    line = err.rstrip("\n")
    assert line.startswith(f"basset {command}: error: "), line
    return line


# ------------------------------------------------------------------------------------------------ coverage
def test_every_command_has_cases():
    commands = set(_subparsers())
    assert set(BASE) == commands
    assert {argv[0] for argv, *_ in BAD_VALUES} == commands
    assert {command for command, _ in _missing_cases()} == commands  # every command reads some input
    assert set(UNKNOWN_TARGETS) == _targets_options()


def test_required_arguments_are_inputs_or_outputs():
    """A required argument that is not an output is an input path whose existence the parser checks (so that a new
    command's input gets its missing-file case here)."""
    unchecked = [f"{command} {_name(a)}" for command, sub in _subparsers().items() for a in sub._actions
                 if (a.required or not a.option_strings) and not _is_input(a) and a.dest not in ("out", "dest")]
    assert unchecked == []


def test_base_command_lines_parse(inputs, monkeypatch):
    """Each BASE line is valid and gives every input argument (so each one's missing-file case replaces a value)."""
    monkeypatch.chdir(inputs)
    for command, sub in _subparsers().items():
        argv = [(inputs / "download.txt").as_uri() if a == "file:FILE_URL" else a for a in BASE[command]]
        args = sub.parse_args(argv)
        for action in sub._actions:
            if _is_input(action):
                assert getattr(args, action.dest) is not None, f"BASE[{command!r}] lacks {_name(action)}"


# ---------------------------------------------------------------------------------------------- the cases
@pytest.mark.parametrize(("command", "action"), list(_missing_cases()),
                         ids=[f"{c}-{_name(a)}" for c, a in _missing_cases()])
def test_missing_input_file(run, inputs, command, action):
    args = _subparsers()[command].parse_args(
        [(inputs / "download.txt").as_uri() if a == "file:FILE_URL" else a for a in BASE[command]])
    value = getattr(args, action.dest)
    value = value[0] if isinstance(value, list) else value  # nargs: the first
    if action.type is cli.download_url:
        old, new, shown = "file:FILE_URL", (inputs / MISSING).as_uri(), str(inputs / MISSING)
    else:
        old, new, shown = value, MISSING, MISSING
    status, err = run(_with(command, replace={old: new}))
    line = one_line_error(command, status, err)
    assert f"argument {_name(action)}: " in line and shown in line, line
    assert "no such f" in line, line  # file or folder


@pytest.mark.parametrize(("argv", "option", "expected"), [(argv, option, expected)
                                                          for argv, option, *expected in BAD_VALUES],
                         ids=[" ".join([argv[0], *argv[len(BASE[argv[0]]) + 1:]] if len(argv) > len(BASE[argv[0]]) + 1
                                       else [argv[0], option]) for argv, option, *_ in BAD_VALUES])
def test_bad_option_value(run, argv, option, expected):
    status, err = run(argv)
    line = one_line_error(argv[0], status, err)
    assert f"argument {option}: " in line, line
    for text in expected:
        assert text in line, line


@pytest.mark.parametrize("key", list(UNKNOWN_TARGETS), ids=[" ".join(k) for k in UNKNOWN_TARGETS])
def test_unknown_target(run, key):
    argv, *expected = UNKNOWN_TARGETS[key]
    status, err = run(argv)
    line = one_line_error(key[0], status, err)
    assert f"argument {key[1]}: unknown target" in line, line
    for text in expected:
        assert text in line, line


def test_missing_file_url(run, inputs):
    """select-variants reads its source from a ``file://`` URL too: a missing one is named like a missing path."""
    url = (inputs / MISSING).as_uri()
    line = one_line_error("select-variants", *run(_with("select-variants", replace={"snps.vcf": url})))
    assert f"argument --source: no such file: {inputs / MISSING} (in {url})" in line, line


def test_model_that_cannot_be_built_names_the_key(run):
    status, err = run(_with("train", "--model", "conv_filters=[8,8]"))  # the cpu preset has 3 conv widths
    assert "model.conv_widths" in one_line_error("train", status, err)


@pytest.mark.parametrize("error", [
    FileNotFoundError(2, "No such file or directory", "peaks/sites.bed"),
    PermissionError(13, "Permission denied", "OUT/locked.tsv"),
    FileNotFoundError(2, "Unable to synchronously open file (unable to open file: name = 'peaks/sites.bed')"),
], ids=["filename", "permission", "h5py"])
def test_path_errors_raised_by_a_stage_are_one_line(run, monkeypatch, error):
    """The operating system refusing a path (read by a stage, not named on the command line) is the input's fault."""
    def fail(args):
        raise error

    monkeypatch.setattr(cli, "cmd_info", fail)
    line = one_line_error("info", *run(["info", "data.h5"]))
    assert str(error.filename or "peaks/sites.bed") in line, line


@pytest.mark.parametrize("error", [ValueError("a bug"), KeyError("c3"), OSError("Unable to open (file signature "
                                                                                "not found)")])
def test_other_errors_are_not_hidden(run, monkeypatch, error):
    """A bug keeps its traceback (the exception leaves main; the interpreter exits with status 1)."""
    def fail(args):
        raise error

    monkeypatch.setattr(cli, "cmd_info", fail)
    with pytest.raises(type(error)):
        run(["info", "data.h5"])


@pytest.mark.parametrize("where", ["before", "after"])
def test_debug_shows_the_traceback(run, where):
    argv = _with("merge-peaks", "--merge-overlap", "600")
    argv = ["--debug", *argv] if where == "before" else [*argv, "--debug"]
    with pytest.raises(UsageError, match="--merge-overlap"):
        run(argv)


def test_good_arguments_pass_the_checks(run):
    """The checks let a good command line through: a download of a local file runs to the end."""
    status, err = run(_with("download"))
    assert status == 0, err
    assert (Path("OUT") / "dest").read_text() == "text\n"


@pytest.mark.parametrize(("argv", "status", "expected"), [
    (["info", "missing.h5"], 2, "basset info: error: argument dataset: no such file: missing.h5\n"),
    (["train", "--dataset", "missing.h5", "--out", "t"], 2,
     "basset train: error: argument --dataset: no such file: missing.h5\n"),
    (["--debug", "merge-peaks", "--samples", "s.tsv", "--genome", "s.tsv", "--out", "o", "--merge-overlap", "600"],
     1, "Traceback"),
], ids=["info", "train", "debug"])
def test_end_to_end_one_line_and_exit_2(tmp_path, argv, status, expected):
    """The real process: ``python -m basset.cli`` (what the ``basset`` script runs)."""
    (tmp_path / "s.tsv").write_text("name\tpeaks\n")
    res = subprocess.run([sys.executable, "-m", "basset.cli", *argv], cwd=tmp_path, capture_output=True, text=True,
                         env=this_basset_env())
    assert res.returncode == status, res.stderr
    if status == 2:
        assert res.stderr == expected
    else:
        assert expected in res.stderr and "UsageError: argument --merge-overlap" in res.stderr
    assert json.loads(res.stdout or "null") is None
