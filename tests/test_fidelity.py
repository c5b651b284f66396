"""basset.fidelity: the paper's setting of each step beside a run's, and the README's table made from it."""

import re
from pathlib import Path

import yaml

from basset.config import gkmsvm_targets
from basset.fidelity import PAPER, fidelity_markdown, fidelity_table

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = {"default run (config/config.yaml)": ROOT / "config" / "config.yaml",
           "paper (config/encode_roadmap.yaml)": ROOT / "config" / "encode_roadmap.yaml"}


def _load(path):
    return yaml.safe_load(Path(path).read_text())


def test_readme_table_is_what_the_shipped_configs_give():
    """The README's table is generated from the two configs: a changed setting must change the README too."""
    table = fidelity_markdown({label: _load(path) for label, path in CONFIGS.items()})
    assert table in (ROOT / "README.md").read_text()


def test_paper_config_follows_the_paper_where_it_can():
    """config/encode_roadmap.yaml is the paper's on every step but the baseline's choice of cell types."""
    table = fidelity_table(_load(CONFIGS["paper (config/encode_roadmap.yaml)"]))
    assert list(table["step"]) == list(PAPER)
    assert table.loc[~table["same"], "step"].tolist() == ["baseline"]
    assert (table.loc[table["same"], "why"] == "").all()
    base = table.set_index("step").loc["baseline", "ours"]
    assert "100,000 balanced training sites, 50 cell types" in base and "every test site" in base


def test_a_run_that_differs_says_where_and_why():
    """Settings moved away from the paper's are named with the run's values and a reason; moved back, the step
    reads as the paper's."""
    cfg = _load(CONFIGS["default run (config/config.yaml)"])
    table = fidelity_table(cfg).set_index("step")
    assert not table.loc["architecture", "same"]
    assert "cpu preset: conv 96×19, 96×11, 96×7; max-pool 12, 4, 4 (floor)" in table.loc["architecture", "ours"]
    assert "288 inputs to the first dense layer" in table.loc["architecture", "ours"]
    assert table.loc["strands", "ours"] == "reverse complement augmentation and averaging"
    assert table.loc["Tomtom", "same"] and table.loc["filter influence", "same"]
    moved = {**cfg, "motifs": {**cfg["motifs"], "influence": "per_sequence", "min_overlap": 5},
             "satmut": {**cfg["satmut"], "exclude_repeats": False},
             "variants": {**(cfg.get("variants") or {}), "pics_coding": [], "rc_average": False},
             "model": {"preset": "basset"}, "train": {**cfg["train"], "rc_augment": False},
             "evaluate": {**cfg["evaluate"], "rc_average": False}}
    t = fidelity_table(moved, tomtom_engine="meme").set_index("step")
    assert t.loc["filter influence", "ours"] == "per cell type mean(Δp²), summed over cell types"
    assert t.loc["Tomtom", "ours"].startswith("meme engine, -dist pearson") and "overlap 5" in t.loc["Tomtom", "ours"]
    assert t.loc["phyloP regression", "ours"] == "all nucleotides" and "every LD set kept" in t.loc[
        "PICS enrichment", "ours"]
    assert t.loc["SAD", "same"] and t.loc["strands", "same"] and t.loc["architecture", "same"]
    assert not t.loc["filter influence", "same"] and t.loc["filter influence", "why"].startswith("motifs.influence")
    assert re.search(r"2,600 inputs", t.loc["architecture", "ours"])


def test_gkmsvm_targets_from_the_sheet():
    """A number is spread over the sheet's groups; names are checked; disabled: none."""
    import pandas as pd
    import pytest

    from basset.errors import ConfigError

    sheet = pd.DataFrame({"group": ["ery", "ery", "mye", "lym"]}, index=["e1", "e2", "m1", "l1"])
    assert gkmsvm_targets({"gkmsvm": {"targets": 3}}, sheet) == ["e1", "m1", "l1"]
    assert gkmsvm_targets({"gkmsvm": {"targets": ["l1", "e2"]}}, sheet) == ["e2", "l1"]
    assert gkmsvm_targets({"gkmsvm": {"enabled": False}}, sheet) == []
    with pytest.raises(ConfigError, match="gkmsvm.targets: unknown target"):
        gkmsvm_targets({"gkmsvm": {"targets": ["x1"]}}, sheet)
