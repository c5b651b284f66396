"""Where a run follows the paper and where it does not: one row per step, the paper's setting, the run's, and why
they differ.

Kelley et al. 2016 (Methods and Basset's scripts) is the reference. :data:`PAPER` holds what the paper did, each
step's text written once here; :func:`fidelity_table` reads the run's own settings from its config (completed
with the schema's defaults, as the workflow completes it), says whether they are the paper's, and gives the
reason where they are not. The report's methods section and the README's table are both made from it, so that
an "as the paper" claim is checked against the settings that ran (``tests/test_fidelity.py`` checks the README's
table against the two shipped configs).
"""

from __future__ import annotations

import pandas as pd

from .config import complete_config
from .presets import PRESETS, flat_length, model_config

#: the paper's setting of each step, in the order of the workflow
PAPER = {
    "peak merging": "600 bp around each peak's midpoint; peaks overlapping by more than 200 bp merged",
    "contigs": "every contig but chrY",
    "N bases": "0.25 in each channel",
    "split": "random: validation 70,000 sites, test 71,886 sites",
    "architecture": ("conv 300×19, 200×11, 200×7; max-pool 3, 4, 4 (ceil); dense 1000, 1000 (dropout 0.3); "
                     "batch norm; 2,600 inputs to the first dense layer"),
    "optimiser": "RMSprop, lr 0.002, α 0.98; max-norm 7; batch 128",
    "epochs": "up to 1,000, early stopping on validation",
    "strands": "forward only: no reverse-complement augmentation or averaging",
    "baseline": ("gkm-SVM per cell type on a random 100,000-site subsample, inactive sites down-sampled to balance, "
                 "50 random cell types"),
    "filter PWMs": "windows activating a filter above 0.5 × (max − mean) + mean",
    "Tomtom": "tomtom -dist pearson -thresh 0.1 (MEME's q-values; minimum overlap 1)",
    "filter influence": "per cell type (mean Δp)² over the test set, summed over cell types",
    "phyloP regression": "non-repetitive nucleotides only",
    "SAD": "p(alt) − p(ref), forward strand",
    "PICS enrichment": ("LD sets with a protein-coding SNP removed; PICS ≥ 0.5 against ≤ 0.05; fractions with SAD "
                        "above 0.1 and their ratio; Mann–Whitney"),
}

#: why a run may differ, by step (shown only where it does)
WHY = {
    "peak merging": "set in peaks.feature_size, peaks.merge_overlap and peaks.midpoint",
    "contigs": "peaks.drop_noncanonical leaves out random, Un and hap contigs (few sites, often no annotation)",
    "N bases": ("dataset.n_handling: random keeps every input a one-hot DNA sequence; 'uniform' is the paper's "
                "encoding"),
    "split": "the split's sizes scale with the number of sites (the paper's are counts for 2 M sites)",
    "architecture": ("the cpu preset trains on 2 cores in minutes; its wide first pooling makes first-layer "
                     "filters learn whole motifs (benchmarks/README.md)"),
    "optimiser": "tuned for the small simulated dataset (about 14,000 training sites), on which Adam converges faster",
    "epochs": "a bound on the run's time; early stopping ends training well before it",
    "strands": "averaging both strands raises AUROC here; the paper's configuration turns it off",
    "baseline": ("gkm-SVM's kernel is quadratic in the training set: the default's few cell types and bounded "
                 "subsample take minutes on 2 cores, the paper's size days per cell type; the cell types are spread "
                 "over the sample sheet's groups (the first ones where it has none) rather than drawn at random; the "
                 "k-mer logistic regression covers every cell type"),
    "filter PWMs": "set in motifs.threshold",
    "Tomtom": "set in motifs.engine, motifs.distance, motifs.tomtom_q and motifs.min_overlap",
    "filter influence": ("motifs.influence: per_sequence also counts filters that move sites both ways, which the "
                         "paper's formula cancels"),
    "phyloP regression": "satmut.exclude_repeats is off",
    "SAD": "averaging both strands makes SAD strand-symmetric",
    "PICS enrichment": "set in the variants section",
}


def _architecture(model: dict) -> tuple[str, bool]:
    cfg = model_config(**{k: v for k, v in model.items() if v is not None})
    convs = ", ".join(f"{f}×{w}" for f, w in zip(cfg["conv_filters"], cfg["conv_widths"]))
    pools = ", ".join(str(p) for p in cfg["conv_pools"])
    dense = ", ".join(str(u) for u in cfg["dense_units"])
    drops = sorted(set(cfg["dense_dropout"]))
    text = (f"conv {convs}; max-pool {pools} ({'ceil' if cfg['pool_ceil'] else 'floor'}); dense {dense} (dropout "
            f"{', '.join(f'{d:g}' for d in drops)}); {'batch norm' if cfg['batch_norm'] else 'no batch norm'}; "
            f"{flat_length(cfg) * cfg['conv_filters'][-1]:,} inputs to the first dense layer")
    paper = {**PRESETS["basset"], "seq_len": 600}
    same = all(cfg[k] == paper[k] for k in paper if k != "n_fill")
    return text, same


def _rows(cfg: dict, engine: str | None = None) -> list[tuple[str, str, bool]]:
    """``(step, the run's setting, whether it is the paper's)`` for every step of :data:`PAPER`; ``engine``: the
    Tomtom engine that ran, when known (the config may say ``auto``)."""
    p, d, m, t, s, v = cfg["peaks"], cfg["dataset"], cfg["motifs"], cfg["train"], cfg["satmut"], cfg["variants"]
    split = d["split"]
    rows = [
        ("peak merging", f"{p['feature_size']} bp around each peak's {p['midpoint']}; peaks overlapping by more than "
                         f"{p['merge_overlap']} bp merged",
         p["feature_size"] == 600 and p["merge_overlap"] == 200 and p["midpoint"] == "center"),
        ("contigs", ("chr1-22 and X" + ("" if p["drop_chry"] else ", Y") if p["drop_noncanonical"] else
                     "every contig" + (" but chrY" if p["drop_chry"] else "")),
         p["drop_chry"] and not p["drop_noncanonical"]),
        ("N bases", {"random": "a random base", "zero": "an all-zero column",
                     "uniform": "0.25 in each channel"}[d["n_handling"]], d["n_handling"] == "uniform"),
        ("split", f"{split['method']}: validation {_size(split.get('valid'))}, test {_size(split.get('test'))}",
         split["method"] == "random" and split.get("valid") == 70000 and split.get("test") == 71886),
    ]
    arch, same_arch = _architecture(cfg["model"])
    rows.append(("architecture", f"{cfg['model']['preset']} preset: {arch}", same_arch))
    opt = f"RMSprop, lr {t['lr']:g}, α {t['alpha']:g}" if t["optimizer"] == "rmsprop" else f"Adam, lr {t['lr']:g}"
    norm = f"max-norm {t['max_norm']:g}" if t["max_norm"] else "no max-norm"
    rows.append(("optimiser", f"{opt}; {norm}; batch {t['batch_size']}",
                 t["optimizer"] == "rmsprop" and t["lr"] == 0.002 and t["alpha"] == 0.98 and t["max_norm"] == 7
                 and t["batch_size"] == 128))
    rows.append(("epochs", f"up to {t['max_epochs']:,}, early stopping after {t['patience']} without improvement",
                 t["max_epochs"] >= 1000))
    rc = [name for name, on in (("augmentation", t["rc_augment"]), ("averaging", cfg["evaluate"]["rc_average"]))
          if on]
    rows.append(("strands", "forward only" if not rc else "reverse complement " + " and ".join(rc), not rc))
    rows.append(("baseline", _baseline(cfg), False))  # the cell types are never drawn at random (WHY)
    rows.append(("filter PWMs", f"windows activating a filter above {m['threshold']:g} × (max − mean) + mean",
                 m["threshold"] == 0.5))
    rows.append(("Tomtom", f"{engine or m['engine']} engine, -dist {m['distance']}, q ≤ {m['tomtom_q']:g} "
                           f"(MEME's q-values); minimum overlap {m['min_overlap']}",
                 m["distance"] == "pearson" and m["tomtom_q"] == 0.1 and m["min_overlap"] == 1))
    rows.append(("filter influence", "per cell type (mean Δp)², summed over cell types" if m["influence"] == "paper"
                 else "per cell type mean(Δp²), summed over cell types", m["influence"] == "paper"))
    rows.append(("phyloP regression", "non-repetitive nucleotides only" if s["exclude_repeats"] else "all nucleotides",
                 bool(s["exclude_repeats"])))
    rows.append(("SAD", "p(alt) − p(ref), " + ("both strands averaged" if v["rc_average"] else "forward strand"),
                 not v["rc_average"]))
    coding = v["pics_coding"] is None or bool(v["pics_coding"])
    rows.append(("PICS enrichment",
                 f"{'LD sets with a protein-coding SNP removed' if coding else 'every LD set kept'}; PICS ≥ "
                 f"{v['high_pics']:g} against ≤ {v['low_pics']:g}; fractions with SAD above {v['sad_threshold']:g} "
                 f"and their ratio; Mann–Whitney",
                 coding and v["high_pics"] == 0.5 and v["low_pics"] == 0.05 and v["sad_threshold"] == 0.1))
    return rows


def _size(value) -> str:
    """A split's size as the config gives it: a fraction (< 1) of the sites, a count, or held-out chromosomes."""
    if isinstance(value, (list, tuple)):
        return ", ".join(map(str, value))
    return f"{value:.0%} of the sites" if isinstance(value, float) and value < 1 else f"{int(value):,} sites"


def _baseline(cfg: dict) -> str:
    k, g = cfg["kmer"], cfg["gkmsvm"]
    kmer = f"{k['k']}-mer logistic regression on {k['max_train']:,} sites for every cell type"
    if not g["enabled"]:
        return f"{kmer}; no gkm-SVM"
    n = len(g["targets"]) if isinstance(g["targets"], list) else g["targets"]
    test = "every test site" if g["max_test"] is None else f"{g['max_test']:,} test sites"
    return (f"gkm-SVM (l={g['l']}, k={g['k']}, d={g['d']}) per cell type on {g['max_train']:,} balanced training "
            f"sites, {n} cell types spread over the groups, {test}; beside it the {kmer}")


def fidelity_table(config: dict, tomtom_engine: str | None = None) -> pd.DataFrame:
    """One row per step of :data:`PAPER`: ``step``, ``paper``, ``ours`` (the run's setting, from ``config``
    completed with the schema's defaults; ``tomtom_engine``: the engine that ran, from the motif summary), ``same``
    (bool) and ``why`` (empty where the run is the paper's)."""
    cfg = complete_config(config)
    rows = [{"step": step, "paper": PAPER[step], "ours": ours, "same": bool(same), "why": "" if same else WHY[step]}
            for step, ours, same in _rows(cfg, tomtom_engine)]
    return pd.DataFrame(rows, columns=["step", "paper", "ours", "same", "why"])


def fidelity_markdown(configs: dict[str, dict]) -> str:
    """The README's table: one row per step, the paper's setting, then each named config's (``{label: config}``),
    "as the paper" where it is, and why the first config that differs does."""
    tables = {label: fidelity_table(cfg) for label, cfg in configs.items()}
    labels = list(tables)
    head = "| step | paper | " + " | ".join(labels) + " | why they differ |"
    lines = [head, "|" + "---|" * (3 + len(labels))]
    first = tables[labels[0]]
    for i, step in enumerate(first["step"]):
        cells = [tables[lb]["ours"].iloc[i] if not tables[lb]["same"].iloc[i] else "as the paper" for lb in labels]
        why = next((tables[lb]["why"].iloc[i] for lb in labels if not tables[lb]["same"].iloc[i]), "")
        lines.append(f"| {step} | {PAPER[step]} | " + " | ".join(cells) + f" | {why} |")
    return "\n".join(lines) + "\n"
