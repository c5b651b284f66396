"""Basenji-style coverage runs: binning bigWigs (against a plain loop over hand-made intervals), the windows, the
coverage HDF5, the model family's geometry (receptive field against the closed formula and against the model
itself), the Poisson loss (against torch's PoissonNLLLoss) and training on coverage targets."""

from __future__ import annotations

import math

import h5py
import numpy as np
import pandas as pd
import pytest
import scipy.stats
import torch

from basset.coverage import (
    bin_sums,
    soft_clip,
    window_bins,
    window_n_counts,
    window_starts,
)
from basset.dataset import Dataset, H5Batches
from basset.errors import ConfigError, InputError
from basset.metrics import PearsonStream
from basset.models import BasenjiNet, build_model, centre_bins, load_model, save_model
from basset.presets import (
    bin_input_span,
    coverage_config,
    first_output_bin,
    model_config,
    output_bins,
    receptive_field,
)
from basset.sequence import one_hot
from basset.stages.coverage import Tracks, build_coverage_dataset, track_bins
from basset.train import evaluate, loss_fn, poisson_loss, train

pyBigWig = pytest.importorskip("pyBigWig")


# ------------------------------------------------------------------------------------------ fixtures
def write_bigwig(path, sizes: dict, intervals: dict):
    """intervals: chrom -> list of (start, end, value), sorted and disjoint."""
    bw = pyBigWig.open(str(path), "w")
    bw.addHeader(list(sizes.items()))
    for chrom, rows in intervals.items():
        if rows:
            s, e, v = zip(*rows)
            bw.addEntries([chrom] * len(rows), list(s), ends=list(e), values=[float(x) for x in v])
    bw.close()
    return str(path)


def loop_bins(intervals, size: int, bin_size: int) -> list[float]:
    """The outside reference: each bin's sum of value x overlap, one interval at a time."""
    out = [0.0] * (size // bin_size)
    for b in range(len(out)):
        lo, hi = b * bin_size, (b + 1) * bin_size
        for s, e, v in intervals:
            overlap = min(e, hi) - max(s, lo)
            if overlap > 0:
                out[b] += overlap * v
    return out


def random_intervals(rng, size: int, n: int):
    cuts = np.sort(rng.choice(np.arange(1, size), 2 * n, replace=False))
    return [(int(s), int(e), float(np.float32(rng.uniform(0, 5)))) for s, e in zip(cuts[0::2], cuts[1::2])]


def write_fasta(path, seqs: dict):
    with open(path, "w") as fh:
        for name, s in seqs.items():
            fh.write(f">{name}\n" + "\n".join(s[i : i + 70] for i in range(0, len(s), 70)) + "\n")
    return str(path)


# ------------------------------------------------------------------------------------------ binning
@pytest.mark.parametrize("bin_size", [1, 7, 128])
def test_binning_a_hand_made_bigwig_equals_a_plain_loop(tmp_path, bin_size):
    rng = np.random.default_rng(bin_size)
    size = 5003  # not a whole number of bins: the partial last bin is dropped
    rows = random_intervals(rng, size, 150) + []
    rows[0] = (0, 3, 2.5)  # an interval at base 0
    rows[-1] = (size - 4, size, 1.5)  # one ending at the chromosome's end, inside the dropped partial bin
    rows.sort()
    path = write_bigwig(tmp_path / "t.bw", {"chr1": size}, {"chr1": rows})
    bw = pyBigWig.open(path)
    got = track_bins(bw, "chr1", size, bin_size)
    assert got.shape == (size // bin_size,)
    np.testing.assert_allclose(got, loop_bins(rows, size, bin_size), rtol=1e-6, atol=1e-9)


def test_binning_reads_in_chunks_without_losing_a_bin(tmp_path, monkeypatch):
    import basset.stages.coverage as stage

    rng = np.random.default_rng(3)
    rows = random_intervals(rng, 4096, 200)
    path = write_bigwig(tmp_path / "t.bw", {"chr1": 4096}, {"chr1": rows})
    monkeypatch.setattr(stage, "READ_CHUNK", 300)  # chunks of 256 bp: bins must not straddle them
    got = track_bins(pyBigWig.open(path), "chr1", 4096, 128)
    np.testing.assert_allclose(got, loop_bins(rows, 4096, 128), rtol=1e-6)


def test_a_chromosome_the_bigwig_lacks_is_zeros():
    assert track_bins(None, None, 1000, 100).tolist() == [0.0] * 10


def test_bin_sums_counts_missing_values_as_zero_and_drops_a_partial_bin():
    v = np.array([1, np.nan, 2, 3, 4, np.nan, 9], dtype=np.float32)
    assert bin_sums(v, 2).tolist() == [1.0, 5.0, 4.0]
    assert bin_sums(v, 7).tolist() == [19.0]
    assert bin_sums(v, 8).tolist() == []


def test_soft_clip_is_basenjis_and_leaves_values_at_the_threshold():
    x = np.array([0.0, 10.0, 11.0, 26.0])
    assert soft_clip(x, 10.0).tolist() == [0.0, 10.0, 11.0, 10.0 + 4.0]
    assert soft_clip(x, None).tolist() == x.tolist()
    assert soft_clip(x, 10.0) is not x


def test_windows_fit_the_chromosome_and_count_their_ns():
    assert window_starts(1000, 400, 200).tolist() == [0, 200, 400, 600]
    assert window_starts(999, 400, 200).tolist() == [0, 200, 400]  # 600 + 400 > 999
    assert window_starts(399, 400, 200).tolist() == []
    is_n = np.zeros(1000, bool)
    is_n[[0, 399, 400, 999]] = True
    assert window_n_counts(is_n, np.array([0, 200, 400, 600]), 400).tolist() == [2, 2, 1, 1]


def test_window_bins_are_slices_of_the_chromosomes_bins():
    chrom = np.arange(20, dtype=float).reshape(10, 2)  # 10 bins, 2 tracks
    out = window_bins(chrom, np.array([0, 300]), 100, 4)
    assert out.shape == (2, 4, 2)
    assert out[1, :, 1].tolist() == [7.0, 9.0, 11.0, 13.0]
    with pytest.raises(ValueError, match="multiples"):
        window_bins(chrom, np.array([50]), 100, 4)


# ------------------------------------------------------------------------------------------ dataset
@pytest.fixture
def genome_and_tracks(tmp_path):
    rng = np.random.default_rng(0)
    sizes = {"chr1": 9000, "chr2": 6100}
    seqs = {c: "".join(rng.choice(list("ACGT"), n)) for c, n in sizes.items()}
    seqs["chr2"] = "N" * 1500 + seqs["chr2"][1500:]  # the first windows of chr2 are N-rich
    fasta = write_fasta(tmp_path / "g.fa", seqs)
    rows = {c: random_intervals(rng, n, 60) for c, n in sizes.items()}
    a = write_bigwig(tmp_path / "a.bw", sizes, rows)
    # track b: Ensembl names, and no chr2
    b = write_bigwig(tmp_path / "b.bw", {"1": sizes["chr1"]}, {"1": [(100, 400, 2.0), (1000, 1001, 7.0)]})
    return fasta, {"a": a, "b": b}, sizes, rows, seqs


DATASET = {"mode": "coverage", "bin": 100, "window": 1000, "stride": 500, "max_n_fraction": 0.5,
           "split": {"method": "chromosomes", "valid": ["chr2"], "test": []}}


def read_split(path, split):
    with h5py.File(path) as h5:
        g = h5[split]
        return (g["seqs"][...], g["targets"][...], g["chrom"].asstr()[...], g["start"][...], g["end"][...],
                dict(h5.attrs), h5["target_names"].asstr()[...].tolist())


def test_the_coverage_dataset_holds_each_windows_sequence_and_bins(tmp_path, genome_and_tracks):
    fasta, tracks, sizes, rows, seqs = genome_and_tracks
    out = {"h5": tmp_path / "d.h5", "summary": tmp_path / "s.tsv"}
    summary = build_coverage_dataset(fasta, tracks, out, DATASET, seed=3)
    # chr1: starts 0..8000 every 500 (17 windows); chr2: 0..5000 (11), of which those with > 500 N are dropped
    assert summary["windows"] == 17 + 11
    assert summary["skipped_n_rich"] == 2  # starts 0 (1000 N) and 500 (1000 N); start 1000 has 500 N: kept
    assert summary["train"] == 17 and summary["valid"] == 9 and summary["test"] == 0
    assert summary["missing"] == {"b": ["chr2"]}
    x, y, chrom, start, end, attrs, names = read_split(out["h5"], "train")
    assert names == ["a", "b"] and attrs["mode"] == "coverage" and attrs["bin_size"] == 100
    assert y.dtype == np.float16 and y.shape == (17, 10, 2)
    assert sorted(start.tolist()) == list(range(0, 8001, 500)) and (end - start == 1000).all()
    bins_a = loop_bins(rows["chr1"], sizes["chr1"], 100)
    bins_b = loop_bins([(100, 400, 2.0), (1000, 1001, 7.0)], sizes["chr1"], 100)
    letters = np.frombuffer(b"ACGT", np.uint8)
    for i in range(len(start)):
        s = int(start[i])
        assert bytes(letters[x[i]]).decode() == seqs["chr1"][s : s + 1000]
        np.testing.assert_allclose(y[i, :, 0], np.float16(bins_a[s // 100 : s // 100 + 10]), rtol=1e-3)
        np.testing.assert_array_equal(y[i, :, 1], np.float16(bins_b[s // 100 : s // 100 + 10]))
    xv, yv, chrom_v, start_v, *_ = read_split(out["h5"], "valid")
    assert set(chrom_v) == {"chr2"} and 0 not in start_v and 500 not in start_v
    assert (yv[:, :, 1] == 0).all()  # b has no chr2
    assert Dataset(out["h5"]).target_shape == (10, 2)


def test_soft_clip_and_scale_apply_before_storing(tmp_path, genome_and_tracks):
    fasta, tracks, *_ = genome_and_tracks
    out = {"h5": tmp_path / "d.h5"}
    summary = build_coverage_dataset(fasta, {"b": tracks["b"]}, out, {**DATASET, "scale": 0.5, "clip_soft": 50.0})
    y = read_split(out["h5"], "train")[1]
    # b's bins 1-3 hold 200 (x 0.5 = 100 -> 50 + sqrt(50)); bin 10 holds 7 (x 0.5 = 3.5, under the threshold)
    assert np.float16(50 + math.sqrt(50)) in y and np.float16(3.5) in y
    assert summary["bins_soft_clipped"] == 3


def test_a_bin_too_large_for_float16_names_the_track(tmp_path, genome_and_tracks):
    fasta, *_ = genome_and_tracks
    big = write_bigwig(tmp_path / "big.bw", {"chr1": 9000}, {"chr1": [(0, 100, 700.0)]})  # 70,000 in bin 0
    with pytest.raises(InputError, match=r"big\.bw.*track 'big'.*70000.*dataset.scale"):
        build_coverage_dataset(fasta, {"big": big}, {"h5": tmp_path / "d.h5"}, DATASET)
    assert not (tmp_path / "d.h5").exists() and list(tmp_path.glob("d.h5*")) == []


def test_a_bigwig_sharing_no_chromosome_with_the_genome_fails_naming_both(tmp_path, genome_and_tracks):
    fasta, *_ = genome_and_tracks
    other = write_bigwig(tmp_path / "o.bw", {"scaffold_7": 5000}, {"scaffold_7": [(0, 10, 1.0)]})
    with pytest.raises(InputError, match=r"o\.bw.*scaffold_7.*chr1"):
        build_coverage_dataset(fasta, {"o": other}, {"h5": tmp_path / "d.h5"}, DATASET)
    text = tmp_path / "t.bw"
    text.write_text("chr1\t0\t10\t1\n")
    with pytest.raises(InputError, match="not a readable bigWig"):
        Tracks({"t": text}, ["chr1"])


@pytest.mark.parametrize("key, value, message", [
    ("window", 1050, "dataset.window.*whole number"), ("stride", 250, "dataset.stride.*whole number"),
])
def test_windows_off_the_bin_grid_are_refused(key, value, message):
    from basset.stages.coverage import coverage_options

    with pytest.raises(ConfigError, match=message):
        coverage_options({**DATASET, key: value})
    with pytest.raises(ConfigError, match="dataset.window.*model reads 2000"):
        coverage_options(DATASET, seq_len=2000)
    assert coverage_options({**DATASET, "window": None, "stride": None}, seq_len=2000)["stride"] == 1000


# ------------------------------------------------------------------------------------------ geometry
SMALL = dict(seq_len=2048, bin_size=32, conv_filters=[6, 8], conv_widths=[7, 5], conv_pools=[4, 8],
             dilated_layers=3, dilated_filters=5, dilated_width=3, dilation_rate=2, dropout=0.0)


def test_the_receptive_field_equals_the_closed_formula():
    cfg = coverage_config(**SMALL)
    # tower: (7 - 1) x 1 + (4 - 1) x 1 [pool] + (5 - 1) x 4 + (8 - 1) x 4 [pool]; dilated: (3 - 1) x (1 + 2 + 4) x 32
    assert receptive_field(cfg) == 1 + 6 + 3 + 16 + 28 + 2 * 7 * 32
    assert receptive_field(coverage_config(**{**SMALL, "dilated_layers": 0})) == 1 + 6 + 3 + 16 + 28
    assert receptive_field(coverage_config(**{**SMALL, "dilation_rate": 3})) == 1 + 6 + 3 + 16 + 28 + 2 * 13 * 32


def _perturbed(cfg, pos):
    """Outputs (bins, T) of a random model on a random sequence, and with the base at ``pos`` changed."""
    torch.manual_seed(0)
    model = BasenjiNet(cfg, 2).double().eval()
    codes = torch.from_numpy(np.random.default_rng(1).integers(0, 4, cfg["seq_len"]).astype(np.uint8))[None]
    other = codes.clone()
    other[0, pos] = (other[0, pos] + 1) % 4
    with torch.no_grad():
        return model(one_hot(codes).double())[0], model(one_hot(other).double())[0]


@pytest.mark.parametrize("pos", [1000, 1023, 1024, 77])
def test_bins_beyond_the_receptive_field_of_a_change_do_not_move_at_all(pos):
    cfg = coverage_config(**SMALL)
    ref, alt = _perturbed(cfg, pos)
    lo, hi = bin_input_span(cfg)
    starts = (first_output_bin(cfg) + np.arange(output_bins(cfg))) * cfg["bin_size"]
    reach = (starts + lo <= pos) & (pos <= starts + hi)
    diff = (alt - ref).abs().sum(1).numpy()
    assert (diff[~reach] == 0).all()  # exactly: the same float operations on the same inputs
    assert (diff[reach] > 0).mean() > 0.8  # and the span is not too wide: most bins within it move


def test_a_narrower_context_reads_only_the_centre_and_predicts_its_bins():
    cfg = coverage_config(**{**SMALL, "context": 1024, "crop_bins": 2})
    assert output_bins(cfg) == 1024 // 32 - 4 and first_output_bin(cfg) == 512 // 32 + 2
    ref, alt = _perturbed(cfg, 300)  # outside the centre 1024 bp: nothing moves
    assert ref.shape == (28, 2) and torch.equal(ref, alt)
    targets = torch.arange(64)[None, :, None].expand(1, 64, 2)
    assert centre_bins(targets, cfg)[0, :, 0].tolist() == list(range(18, 46))
    with pytest.raises(ConfigError, match="model.context"):
        coverage_config(**{**SMALL, "context": 1000})
    with pytest.raises(ConfigError, match="model.context"):
        coverage_config(**{**SMALL, "context": 1024 + 32})  # an odd number of bins fewer: not centred
    with pytest.raises(ConfigError, match="model.conv_pools.*bin_size 64"):
        coverage_config(**{**SMALL, "bin_size": 64})
    with pytest.raises(ConfigError, match="model.dense_units"):
        model_config("basenji_small", dense_units=[10])


def test_the_paper_preset_has_basenjis_geometry():
    cfg = model_config("basenji")
    assert cfg["seq_len"] == 131072 and output_bins(cfg) == 1024 and cfg["bin_size"] == 128
    small = model_config("basenji_small")
    assert output_bins(small) == 128 and 8000 < receptive_field(small) <= 16384 + 2048


def test_a_coverage_model_saves_and_loads(tmp_path):
    cfg = coverage_config(**SMALL)
    torch.manual_seed(0)
    model = build_model(cfg, 3)
    save_model(tmp_path / "m.pt", model, ["a", "b", "c"])
    loaded, meta = load_model(tmp_path / "m.pt")
    assert isinstance(loaded, BasenjiNet) and meta["config"] == cfg
    x = one_hot(torch.randint(0, 4, (2, 2048), dtype=torch.uint8))
    model.eval()
    with torch.no_grad():
        assert torch.equal(model(x), loaded(x))
        assert (model(x) >= 0).all() and model(x).shape == (2, 64, 3)


# ------------------------------------------------------------------------------------------ loss, metric
def test_the_poisson_loss_equals_torchs_poisson_nll_loss():
    g = torch.Generator().manual_seed(0)
    pred = torch.rand(4, 16, 3, generator=g) * 5
    pred[0, 0, 0] = 0.0  # a zero rate: eps keeps it finite, as torch's
    target = torch.poisson(torch.rand(4, 16, 3, generator=g) * 5, generator=g)
    want = torch.nn.PoissonNLLLoss(log_input=False)(pred, target)
    assert torch.allclose(poisson_loss(pred, target), want, rtol=1e-6)
    assert torch.isfinite(poisson_loss(pred, target))


def test_pearson_stream_equals_scipy_over_uneven_blocks():
    rng = np.random.default_rng(0)
    x = rng.normal(5, 2, (1001, 3))
    y = x * [1, -0.5, 0] + rng.normal(0, 1, (1001, 3)) + 1e6 * np.array([0, 1, 0])  # a large offset in column 1
    stream = PearsonStream(3)
    for lo, hi in ((0, 1), (1, 1), (1, 400), (400, 1001)):
        stream.add(x[lo:hi], y[lo:hi])
    want = [scipy.stats.pearsonr(x[:, j], y[:, j])[0] for j in range(3)]
    np.testing.assert_allclose(stream.r(), want, rtol=1e-9, atol=1e-12)
    flat = PearsonStream(1)
    flat.add(np.ones((5, 1)), np.arange(5.0)[:, None])
    assert np.isnan(flat.r()[0])


# ------------------------------------------------------------------------------------------ training
@pytest.fixture
def coverage_h5(tmp_path, genome_and_tracks):
    fasta, tracks, *_ = genome_and_tracks
    path = tmp_path / "d.h5"
    build_coverage_dataset(fasta, tracks, {"h5": path}, {**DATASET, "bin": 32, "window": 2048, "stride": 256})
    return path


def test_the_loader_streams_coverage_targets_as_stored(coverage_h5):
    batches = list(H5Batches(coverage_h5, "train", 5, shuffle=False))
    y = np.concatenate([b[1].numpy() for b in batches])
    with h5py.File(coverage_h5) as h5:
        np.testing.assert_array_equal(y, h5["train/targets"][...])
    assert batches[0][1].dtype == torch.float16 and batches[-1][1].shape[1:] == (64, 2)


def test_the_loss_of_a_coverage_model_is_the_poisson_loss_of_its_bins(coverage_h5):
    cfg = coverage_config(**{**SMALL, "context": 1024})
    torch.manual_seed(0)
    model = build_model(cfg, 2).eval()
    codes, targets = next(iter(H5Batches(coverage_h5, "train", 4, shuffle=False)))
    with torch.no_grad():
        want = poisson_loss(model(one_hot(codes)), targets[:, 16:48])
        assert torch.allclose(loss_fn(model, codes, targets), want)


def test_reverse_complement_augmentation_reverses_the_bins_too():
    from basset.train import train_step

    class Probe(torch.nn.Module):  # records what the step hands the loss
        objective = "poisson"

        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.ones(()))
            self.config = coverage_config(**SMALL)
            self.seen = None

        def forward(self, x):
            self.seen = x
            return self.w * torch.ones(x.shape[0], 64, 1)

    probe = Probe()
    codes = torch.zeros(2, 2048, dtype=torch.uint8)  # all A: reverse-complemented all T
    targets = torch.arange(64, dtype=torch.float16)[None, :, None].expand(2, 64, 1).clone()
    seen = {}
    import basset.train as bt

    original = bt.poisson_loss

    def spy(pred, target, eps=1e-8):
        seen["target"] = target.clone()
        return original(pred, target, eps)

    bt.poisson_loss = spy
    try:
        train_step(probe, torch.optim.SGD(probe.parameters(), lr=0.0), codes, targets, "cpu",
                   flip=torch.tensor([True, False]))
    finally:
        bt.poisson_loss = original
    assert probe.seen[0, 3].all() and probe.seen[1, 0].all()  # row 0 flipped (T), row 1 not (A)
    assert seen["target"][0, :, 0].tolist() == list(range(63, -1, -1))
    assert seen["target"][1, :, 0].tolist() == list(range(64))


def test_training_a_coverage_model_learns_and_resumes_exactly(tmp_path, coverage_h5):
    cfg = {"preset": "basenji_small", **SMALL}
    opts = {"batch_size": 4, "max_epochs": 3, "optimizer": "adam", "lr": 0.01, "rc_augment": True}
    straight = train(coverage_h5, tmp_path / "a", cfg, opts, progress=False)
    train(coverage_h5, tmp_path / "b", cfg, opts, progress=False, stop_after_epochs=1)
    resumed = train(coverage_h5, tmp_path / "b", cfg, opts, progress=False)
    assert straight["best_valid_r"] == resumed["best_valid_r"] and "best_valid_auroc" not in straight
    header = (tmp_path / "a" / "history.tsv").read_text().splitlines()[0].split("\t")
    assert header == ["epoch", "train_loss", "valid_loss", "valid_r", "seconds", "lr", "best"]
    a, _ = load_model(tmp_path / "a" / "model.pt")
    b, _ = load_model(tmp_path / "b" / "model.pt")
    assert all(torch.equal(p, q) for p, q in zip(a.state_dict().values(), b.state_dict().values()))
    res = evaluate(a, coverage_h5, "valid")
    assert res["r"].shape == (2,) and res["n"] == 14 and math.isfinite(res["loss"])


# ------------------------------------------------------------------------------------------ config
def _config(**sections):
    from basset.config import complete_config

    cfg = {"run": "c", "seed": 1, "samples": "s.tsv", "dataset": {"mode": "coverage", "bin": 128},
           "model": {"preset": "basenji_small"}}
    for key, value in sections.items():
        cfg[key] = {**cfg.get(key, {}), **value}
    return complete_config(cfg)


def test_a_coverage_run_needs_a_coverage_model_with_the_datasets_bins():
    from basset.config import check_config

    check_config(_config())
    with pytest.raises(ConfigError, match="dataset.bin, model.bin_size.*64 bp.*128 bp"):
        check_config(_config(dataset={"bin": 64}))
    with pytest.raises(ConfigError, match="model.preset.*needs a coverage model"):
        check_config(_config(model={"preset": "cpu"}))
    with pytest.raises(ConfigError, match="model.preset.*basenji_small is a coverage model"):
        check_config(_config(dataset={"mode": "basset"}))
    with pytest.raises(ConfigError, match="dataset.window.*model reads 16384"):
        check_config(_config(dataset={"window": 8192}))
    with pytest.raises(ConfigError, match="coverage.ablation_context.*not shorter"):
        check_config(_config(coverage={"ablation_context": 16384}))
    with pytest.raises(ConfigError, match="model.context"):
        check_config(_config(coverage={"ablation_context": 2000}))


def test_a_coverage_run_reads_the_sheets_bigwigs_and_makes_only_its_files():

    from basset.config import produces, workflow_inputs

    samples = pd.DataFrame({"name": ["a", "b"], "peaks": ["", ""], "coverage": ["a.bw", "https://x.org/b.bw"]})
    cfg = _config(genome={"fasta": "g.fa"})
    inputs = workflow_inputs(cfg, samples)
    assert inputs["peaks"] == {} and inputs["coverage"]["a"] == "a.bw"
    assert inputs["coverage"]["b"].startswith("resources/peaks/b/")  # a URL is read from its download
    assert produces(cfg, inputs, "dataset", "h5") and produces(cfg, inputs, "evaluate", "fig_ablation")
    assert not produces(cfg, inputs, "peaks", "sites") and not produces(cfg, inputs, "motifs", "summary")
    assert not produces(cfg, inputs, "variants", "sad")  # no VCF
    assert not produces(_config(genome={"fasta": "g.fa"}, coverage={"ablation_context": None}), inputs, "train",
                        "ablation_model")
    with pytest.raises(ConfigError, match="no coverage bigWig"):
        workflow_inputs(cfg, samples.assign(coverage=["a.bw", ""]))
    with pytest.raises(ConfigError, match="needs a coverage column"):
        workflow_inputs(cfg, samples.drop(columns="coverage"))
    basset_cfg = _config(genome={"fasta": "g.fa"}, dataset={"mode": "basset"}, model={"preset": "cpu"})
    with pytest.raises(ConfigError, match="no peaks file"):
        workflow_inputs(basset_cfg, samples)
    assert not produces(basset_cfg, workflow_inputs(basset_cfg, samples.assign(peaks=["a.bed", "b.bed"])),
                        "evaluate", "coverage_summary")


def test_a_track_with_negative_values_is_refused_naming_it(tmp_path, genome_and_tracks):
    fasta, *_ = genome_and_tracks
    log_ratio = write_bigwig(tmp_path / "lr.bw", {"chr1": 9000}, {"chr1": [(0, 50, 1.0), (200, 300, -0.5)]})
    with pytest.raises(InputError, match=r"lr\.bw.*track 'lr'.*-50.*must not be negative"):
        build_coverage_dataset(fasta, {"lr": log_ratio}, {"h5": tmp_path / "d.h5"}, DATASET)


def test_a_full_disk_leaves_no_dataset_and_names_it(small_tmpfs, genome_and_tracks):
    from basset.fileio import DiskFullError

    fasta, tracks, *_ = genome_and_tracks
    out = small_tmpfs / "d.h5"
    with pytest.raises(DiskFullError, match=r"d\.h5"):
        build_coverage_dataset(fasta, tracks, {"h5": out}, {**DATASET, "compression": "none", "stride": 100})
    assert list(small_tmpfs.iterdir()) == []


def test_the_command_line_builds_the_dataset_from_a_sheet_of_relative_paths(tmp_path, genome_and_tracks):
    from basset.cli import main

    fasta, tracks, *_ = genome_and_tracks
    sheet = tmp_path / "sheet.tsv"
    sheet.write_text("name\tcoverage\na\ta.bw\nb\tb.bw\n")  # beside the sheet, not in the working folder
    assert main(["-q", "build-coverage", "--samples", str(sheet), "--genome", fasta, "--out", str(tmp_path / "c.h5"),
                 "--window", "1000", "--stride", "500", "--bin", "100", "--valid-chroms", "chr2"]) == 0
    data = Dataset(tmp_path / "c.h5")
    assert data.target_names == ["a", "b"] and data.n_sites == {"train": 17, "valid": 9, "test": 0}


def test_a_stage_on_sites_refuses_a_coverage_model_naming_it(tmp_path):
    from basset.stages.predict import predict_file

    torch.manual_seed(0)
    save_model(tmp_path / "cov.pt", build_model(coverage_config(**SMALL), 2), ["a", "b"])
    (tmp_path / "s.fa").write_text(">s\n" + "ACGT" * 512 + "\n")
    with pytest.raises(InputError, match=r"cov\.pt.*is a coverage model.*evaluate-coverage"):
        predict_file(tmp_path / "cov.pt", tmp_path / "p.tsv", fasta=tmp_path / "s.fa")
    assert load_model(tmp_path / "cov.pt", objective="poisson")[0].n_bins == 64


def test_a_coverage_stage_refuses_a_classifier_naming_it(tmp_path, coverage_h5):
    from basset.models import model_config as site_config
    from basset.stages.coverage_eval import evaluate_coverage_model

    save_model(tmp_path / "sites.pt", build_model(site_config("cpu", seq_len=2048), 2), ["a", "b"])
    with pytest.raises(InputError, match=r"sites\.pt.*is a classifier of sites.*coverage model"):
        evaluate_coverage_model(tmp_path / "sites.pt", coverage_h5, {})


def test_the_difference_track_of_a_multi_base_variant_starts_where_its_windows_do(tmp_path):
    """A 3-base REF is centred on its middle base (as basset.vcf.variant_sequences builds SAD's windows), so the
    window starts one base later than an SNV's at the same POS: bin starts and the exactly-0 bins follow from that."""
    from basset.sadfile import SUMMARY_COLUMNS
    from basset.stages.coverage_eval import delta_track

    rng = np.random.default_rng(4)
    seq = "".join(rng.choice(list("ACGT"), 6000))
    fasta = write_fasta(tmp_path / "g.fa", {"chr1": seq})
    torch.manual_seed(0)
    cfg = coverage_config(**SMALL)
    save_model(tmp_path / "m.pt", build_model(cfg, 2), ["a", "b"])
    pos = 3001  # 1-based; REF = bases 3001-3003
    ref = seq[pos - 1 : pos + 2]
    alt = "".join({"A": "C", "C": "G", "G": "T", "T": "A"}[b] for b in ref)
    row = {"chrom": "chr1", "pos": pos, "id": "mnp1", "ref": ref, "alt": alt, "swapped": "False", "mean_sad": 0.1,
           "max_abs_sad": 0.1, "top_target": "a", "delta_class": "weak", "weighted": 0.0}
    (tmp_path / "sad.tsv").write_text("\t".join(SUMMARY_COLUMNS) + "\n"
                                      + "\t".join(str(row[c]) for c in SUMMARY_COLUMNS) + "\n")
    out = {k: tmp_path / f"{k}.{e}" for k, e in (("delta_track", "tsv"), ("fig_delta_track", "png"))}
    delta_track(tmp_path / "m.pt", fasta, tmp_path / "sad.tsv", out)
    track = pd.read_csv(out["delta_track"], sep="\t")
    window_start = (pos - 1 + 1) - 2048 // 2  # the middle REF base (0-based pos) at index 1024
    assert track["start"].iloc[0] == window_start  # first_output_bin is 0 for SMALL
    lo, hi = bin_input_span(cfg)
    changed = np.arange(pos - 1, pos + 2)
    reach = np.array([((s + lo <= changed) & (changed <= s + hi)).any() for s in track["start"]])
    moved = track[["a", "b"]].abs().max(axis=1).to_numpy() > 0
    assert not moved[~reach].any() and moved[reach].all() and (~reach).any()
