"""Checks of a workflow config that one JSON schema cannot express, and what the config leaves out.

The schema (``src/basset/schemas/config.schema.yaml``) checks each key on its own and holds every default.
:func:`check_config` checks keys against each other, so that a config that cannot work is refused when the
workflow is parsed, before any job runs, with the keys named; :func:`skipped_stages` says which stages a
config's ``null`` inputs leave out, and why. Both take the validated config dict (defaults filled in) and
need no Snakemake: the CLI and a notebook can call them too.
"""

from __future__ import annotations

import copy
from functools import lru_cache
from pathlib import Path
from urllib.parse import unquote, urlsplit

from .errors import ConfigError
from .layout import simulated_paths
from .presets import is_coverage, model_config
from .samples import is_url, resolve_weights, sample_assays

#: The JSON schemas of the config and the sample sheet: the workflow validates with them, and they hold every
#: default of the library too (:func:`schema_defaults`), so that a default lives in one place.
SCHEMA_DIR = Path(__file__).resolve().parent / "schemas"

#: The factors inserted into background sequences when ``motifs.insert`` is empty and nothing is simulated:
#: the paper's examples (Kelley et al. 2016, Figure 3 and the motif-insertion analysis), name -> JASPAR 2026
#: CORE vertebrates matrix ID, so that the matrices do not depend on name look-ups.
PAPER_INSERT_MOTIFS: dict[str, str] = {
    "CTCF": "MA0139.2",
    "GATA1": "MA0035.5",
    "SPI1": "MA0080.7",
    "CEBPB": "MA0466.4",
    "HNF4A": "MA0114.5",
    "FOXA2": "MA0047.4",
    "POU5F1::SOX2": "MA0142.1",
    "TP63": "MA0525.2",
    "FOS::JUN": "MA0099.4",
    "ETS1": "MA0098.4",
    "IRF4": "MA1419.2",
    "NRF1": "MA0506.3",
}


def _fraction(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value < 1


def check_split(split: dict) -> None:
    """``dataset.split``: fractions that leave training sites, chromosome lists that do not overlap."""
    split = with_defaults("dataset", {"split": split})["split"]
    valid, test = split["valid"], split["test"]
    if split["method"] == "random":
        if _fraction(valid) and _fraction(test) and valid + test >= 1:
            raise ConfigError("dataset.split.valid, dataset.split.test",
                              f"the fractions {valid} + {test} = {valid + test:g} leave no training sites; "
                              "expected a sum below 1 (or counts of sites, >= 1)")
        for key, value in (("valid", valid), ("test", test)):
            if isinstance(value, float) and value >= 1 and not value.is_integer():
                raise ConfigError(f"dataset.split.{key}", f"{value} is neither a fraction (< 1) nor a whole count")
        return
    both = sorted(set(valid or []) & set(test or []))
    if both:
        raise ConfigError("dataset.split.valid, dataset.split.test",
                          f"chromosome(s) {', '.join(both)} held out for both validation and test")


def architecture(model: dict | None) -> dict:
    """The architecture (:func:`basset.presets.model_config`) of a config's ``model`` section: its preset (the
    schema's default when absent), with the keys that are given and not null over it."""
    model = with_defaults("model", model)
    overrides = {k: v for k, v in model.items() if k != "preset" and v is not None}
    return model_config(model["preset"], **overrides)


def check_model(model: dict, feature_size: int) -> dict:
    """``model``: a buildable architecture whose input length equals the sites' ``peaks.feature_size``.

    Returns the architecture (:func:`architecture`).
    """
    cfg = architecture(model)
    if cfg["seq_len"] != feature_size:
        raise ConfigError("model.seq_len, peaks.feature_size",
                          f"the model ({model.get('preset')} preset) reads {cfg['seq_len']} bp but the sites are "
                          f"{feature_size} bp: set peaks.feature_size: {cfg['seq_len']} or model.seq_len: "
                          f"{feature_size}")
    return cfg


def site_length(config: dict) -> int:
    """The sites' length (bp): ``peaks.feature_size`` (Basset's merged peaks), or in ``dataset.mode: deepsea`` the
    model's input length, the window centred on each bin, and in ``coverage`` mode the model's window."""
    config = complete_config(config)
    if config["dataset"]["mode"] in ("deepsea", "coverage"):
        return int(architecture(config["model"])["seq_len"])
    return int(config["peaks"]["feature_size"])


def check_config(config: dict) -> None:
    """Raise :class:`ConfigError` naming the keys when keys of ``config`` contradict each other."""
    config = complete_config(config)
    run = str(config["run"])
    if run.strip(".") == "":
        raise ConfigError("run", f"{run!r} is not a name: results would go to results/{run}/ (outside the run's "
                                 "folder); use letters, digits, '.', '_' or '-', not only dots")
    size, overlap = config["peaks"]["feature_size"], config["peaks"]["merge_overlap"]
    if overlap >= size:
        raise ConfigError("peaks.merge_overlap, peaks.feature_size",
                          f"an overlap of {overlap} bp can never be reached by sites of {size} bp, so nothing "
                          f"would merge; expected merge_overlap < feature_size")
    check_split(config["dataset"]["split"])
    if config["dataset"]["mode"] == "coverage":
        check_coverage(config)
        return
    if is_coverage(architecture(config["model"])):
        raise ConfigError("model.preset", f"{config['model']['preset']} is a coverage model: it needs "
                                          "dataset.mode: coverage and a sample sheet with a coverage column")
    if config["dataset"]["mode"] == "deepsea":
        size = site_length(config)
        if config["dataset"]["bin"] > size:
            raise ConfigError("dataset.bin, model.seq_len", f"bins of {config['dataset']['bin']} bp do not fit in the "
                                                            f"model's {size} bp input")
    check_model(config["model"], size)
    satmut = config["satmut"]
    for key in ("window", "plot_window"):
        if satmut[key] > size:
            raise ConfigError(f"satmut.{key}", f"{satmut[key]} bp is longer than the {size} bp sites "
                                               "(peaks.feature_size, or the model's input in deepsea mode)")
    variants = config["variants"]
    if variants["low_pics"] >= variants["high_pics"]:
        raise ConfigError("variants.low_pics, variants.high_pics",
                          f"low ({variants['low_pics']}) must be below high ({variants['high_pics']})")


def coverage_window(dataset: dict, seq_len: int | None = None) -> tuple[int, int, int]:
    """``(window, stride, bin)`` in bp of a coverage dataset from the config's ``dataset`` section: ``window`` null
    is ``seq_len`` (the model's input, which it must equal), ``stride`` null half the window; both whole bins.
    :class:`ConfigError` names the key."""
    window = dataset.get("window") if dataset.get("window") is not None else seq_len
    if window is None:
        raise ConfigError("dataset.window", "give the window length (bp) or the model whose seq_len it is")
    if seq_len is not None and window != seq_len:
        raise ConfigError("dataset.window", f"is {window} bp but the model reads {seq_len} bp (model.seq_len)")
    bin_size = int(dataset["bin"])
    stride = dataset.get("stride") if dataset.get("stride") is not None else window // 2
    for key, value in (("window", window), ("stride", stride)):
        if value < bin_size or value % bin_size:
            raise ConfigError(f"dataset.{key}", f"{value} bp is not a whole number of dataset.bin ({bin_size} bp) bins")
    return int(window), int(stride), bin_size


def check_coverage(config: dict) -> None:
    """``dataset.mode: coverage``: a coverage model whose window and bins the dataset's are, and an ablation context
    the model can read (whole bins, centred); :class:`ConfigError` names the keys."""
    model = architecture(config["model"])
    if not is_coverage(model):
        raise ConfigError("model.preset", f"dataset.mode coverage needs a coverage model (basenji or basenji_small), "
                                          f"got {config['model']['preset']}")
    if config["dataset"]["bin"] != model["bin_size"]:
        raise ConfigError("dataset.bin, model.bin_size", f"the targets' bins ({config['dataset']['bin']} bp) must be "
                                                         f"the model's ({model['bin_size']} bp)")
    coverage_window(config["dataset"], model["seq_len"])
    context = config["coverage"]["ablation_context"]
    if context is not None:
        if context >= model["context"]:
            raise ConfigError("coverage.ablation_context", f"{context} bp is not shorter than the model's "
                                                           f"{model['context']} bp: nothing to compare")
        model_config(config["model"]["preset"], **{k: v for k, v in config["model"].items()
                                                   if k != "preset" and v is not None}, context=context)


def target_weights(config: dict, samples) -> dict:
    """``variants.weights`` per target: keys name targets or the sample sheet's assays (a target takes its own weight,
    else its assay's; :func:`basset.sad.resolve_weights`). ConfigError for a name that is neither."""
    weights = complete_config(config)["variants"]["weights"] or {}
    targets = [str(t) for t in samples["name"]]
    try:
        return resolve_weights(weights, targets, sample_assays(samples))
    except ValueError:
        assays = sorted(set(sample_assays(samples)))
        unknown = [str(k) for k in weights if str(k) not in targets and str(k) not in assays]
        more = ", ..." if len(targets) > 6 else ""
        raise ConfigError("variants.weights", f"unknown target(s) or assay(s) {', '.join(unknown)}; the sample sheet "
                                              f"has targets {', '.join(targets[:6])}{more} and assays "
                                              f"{', '.join(assays)}") from None


def check_targets(config: dict, targets: list[str]) -> None:
    """Keys that name targets or count them, against the sample sheet's targets."""
    config = complete_config(config)
    plot = config["satmut"]["plot_target"]
    if plot is not None and plot not in targets:
        raise ConfigError("satmut.plot_target", f"unknown target {plot!r}")
    transfer = config["transfer"]
    if transfer["enabled"] and config["dataset"]["mode"] != "coverage":  # no transfer stage in a coverage run
        unknown = [t for t in transfer["holdout"] if t not in targets]
        if unknown:
            raise ConfigError("transfer.holdout", f"unknown target(s) {', '.join(unknown)}")
        held = len(transfer["holdout"]) or transfer["k"]
        if held >= len(targets):
            raise ConfigError("transfer.k" if not transfer["holdout"] else "transfer.holdout",
                              f"holding out {held} of {len(targets)} targets leaves none to pre-train on; "
                              "hold out fewer, or set transfer.enabled: false")


def skipped_stages(config: dict, inputs: dict) -> dict[str, str]:
    """Stages that a run leaves out -> the reason, naming the key that would bring each back.

    ``inputs``: :func:`workflow_inputs` (an optional input is ``None`` when its key is null).
    """
    config = complete_config(config)
    out = {}
    if config["dataset"]["mode"] == "coverage":  # the stages on Basset's sites are not part of a coverage run
        if not inputs.get("vcf"):
            out["variant effects on coverage (SAD, difference track)"] = \
                "variants.vcf is null: set it to a VCF of variants"
        if config["coverage"]["ablation_context"] is None:
            out["window-size ablation"] = "coverage.ablation_context is null: set it to a short window (bp)"
        return out
    if not inputs.get("genes"):
        out["site classes (Figure 2, promoter/intragenic/intergenic AUROC)"] = \
            "genome.genes is null: set it to a GTF gene annotation"
    if not inputs.get("phylop"):
        out["phyloP regression (Figures 4B-D)"] = "genome.phylop is null: set it to a phyloP bigWig"
    if not inputs.get("vcf"):
        out["SNP accessibility difference (SAD, Figure 5)"] = "variants.vcf is null: set it to a VCF of variants"
    if not (inputs.get("vcf") and inputs.get("pics")):
        missing = "variants.pics is" if inputs.get("vcf") else "variants.vcf and variants.pics are"
        out["PICS enrichment (Figure 5A-B)"] = f"{missing} null: set them to a VCF and a PICS table"
    if not config["transfer"]["enabled"]:
        out["transfer learning (Figure 6)"] = "transfer.enabled is false"
    if not config["attribution"]["enabled"]:
        out["attributions and TF-MoDISco (Figure 7)"] = "attribution.enabled is false"
    if not config["simulate"]["enabled"]:
        out["grading against the simulation's truth"] = "simulate.enabled is false (real data: no planted truth)"
    return out


def produces(config: dict, inputs: dict, stage: str, key: str) -> bool:
    """Whether a run of ``config`` makes the results file ``key`` of ``stage`` (:data:`basset.layout.STAGES`): the
    stages that :func:`skipped_stages` names leave theirs out. ``inputs``: :func:`workflow_inputs`."""
    config = complete_config(config)
    if config["dataset"]["mode"] == "coverage":
        return _coverage_produces(config, inputs, stage, key)
    if key in COVERAGE_ONLY.get(stage, ()):
        return False
    deepsea = config["dataset"]["mode"] == "deepsea"
    if stage == "peaks":  # Basset's merged sites, or DeepSEA's bins
        return key.startswith("bin_") == deepsea
    if stage == "evaluate" and key in ("by_assay", "assay_summary", "fig_assay"):
        return deepsea
    if (stage, key) == ("motifs", "recovery"):
        return bool(config["simulate"]["enabled"])
    if stage == "satmut" and key in ("phylop", "fig4bcd"):
        return bool(inputs["phylop"])
    if stage == "variants":
        v = config["variants"]
        if key in ("delta_profile", "delta_summary", "fig_delta"):
            return deepsea and bool(inputs["vcf"]) and bool(inputs["pics"])
        if key == "targets_tsv":
            return bool(inputs["vcf"]) and bool(v["tsv_targets"])
        if key.startswith("shard_"):
            return bool(inputs["vcf"]) and int(v["shards"]) > 1
        return bool(inputs["vcf"]) and (key in ("sad", "table", "rejects", "summary") or bool(inputs["pics"]))
    if stage == "transfer":
        return bool(config["transfer"]["enabled"])
    if stage == "attribution":
        truth_only = key in ("truth", "recovery", "spacing", "fig_spacing")
        return bool(config["attribution"]["enabled"]) and (not truth_only or bool(config["simulate"]["enabled"]))
    return True


#: results files made only in dataset.mode coverage (Basenji-style runs)
COVERAGE_ONLY = {
    "evaluate": ("coverage_metrics", "coverage_summary", "fig_coverage_tracks", "fig_coverage_r", "ablation",
                 "ablation_summary", "fig_ablation"),
    "train": ("ablation_model", "ablation_history"),
    "variants": ("delta_track", "delta_track_summary", "fig_delta_track"),
}


def _coverage_produces(config: dict, inputs: dict, stage: str, key: str) -> bool:
    """:func:`produces` in dataset.mode coverage: the coverage dataset, the model (and the ablation's), the
    evaluation per track, SAD of summed coverage with a variant's difference track, and the report."""
    ablation = config["coverage"]["ablation_context"] is not None
    if stage == "dataset":
        return key in ("h5", "summary")
    if stage == "train":
        return key in ("model", "history") or ablation
    if stage == "evaluate":
        return key in COVERAGE_ONLY["evaluate"] and (ablation or not key.startswith(("ablation", "fig_ablation")))
    if stage == "variants":
        v = config["variants"]
        if key == "targets_tsv":
            return bool(inputs["vcf"]) and bool(v["tsv_targets"])
        if key.startswith("shard_"):
            return bool(inputs["vcf"]) and int(v["shards"]) > 1
        return bool(inputs["vcf"]) and key in ("sad", "table", "rejects", "summary", *COVERAGE_ONLY["variants"])
    return stage == "report"


# --------------------------------------------------------------------------------------------- inputs
#: the optional inputs of a run: key -> (config section, key)
OPTIONAL_INPUTS = {"genes": ("genome", "genes"), "phylop": ("genome", "phylop"), "vcf": ("variants", "vcf"),
                   "pics": ("variants", "pics")}


def download_name(url: str) -> str:
    """The file name a URL's download is kept under (the URL's own last path component)."""
    name = unquote(urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1])
    return "".join(c if c.isalnum() or c in "._-" else "_" for c in name) or "download"


def peak_download_path(name: str, url: str) -> str:
    """Where rule download_peaks keeps sample ``name``'s peaks (compression is decided by content, not name)."""
    return f"resources/peaks/{name}/{download_name(url)}"


#: where rule select_pics_variants writes the PICS SNPs' records taken from ``variants.allele_source``
PICS_VCF = "resources/variants/pics_snps.vcf.gz"


def workflow_inputs(config: dict, samples) -> dict:
    """Every input file of a run, decided in one place: ``fasta``, ``genes``, ``phylop``, ``vcf``, ``pics``
    (path or None), ``peaks`` (sample name -> path; empty in ``dataset.mode: coverage``) and ``coverage`` (sample
    name -> bigWig path, in coverage mode; else empty).

    With ``simulate.enabled`` they are the simulation's files under ``simulate.outdir``, with names derived
    there (:func:`basset.simulate.simulated_paths`): the simulation never writes to a path taken from the config
    or the sample sheet, so a user's files can never become its outputs. A config that points a genome or
    variant key, or a sample's ``peaks``, elsewhere while simulating is refused. Otherwise the config's paths
    are used as they are, a sample whose ``peaks`` is a URL is read from its download, and with
    ``variants.allele_source`` (and no ``variants.vcf``) the variants are the PICS SNPs selected from it
    (:data:`PICS_VCF`).
    """
    config = complete_config(config)
    if not config["simulate"]["enabled"]:
        genome, variants = config["genome"], config["variants"]
        if not genome.get("fasta"):
            raise ConfigError("genome.fasta", "no genome: set it to a FASTA file (or simulate.enabled: true)")
        out = {"fasta": genome["fasta"]}
        out.update({key: (genome if section == "genome" else variants)[name] or None
                    for key, (section, name) in OPTIONAL_INPUTS.items()})
        out["peaks"], out["coverage"] = {}, {}
        if config["dataset"]["mode"] == "coverage":
            out["coverage"] = {n: peak_download_path(n, p) if is_url(p) else p
                               for n, p in zip(samples["name"], _coverage_column(samples))}
        else:
            out["peaks"] = {n: peak_download_path(n, p) if is_url(p) else p
                            for n, p in zip(samples["name"], _peaks_column(samples))}
        if not out["vcf"] and variants["allele_source"]:
            if not out["pics"]:
                raise ConfigError("variants.allele_source", "selects the alleles of the PICS SNPs, but "
                                                            "variants.pics is null")
            out["vcf"] = PICS_VCF
        return out
    sim = simulated_paths(config["simulate"]["outdir"], samples)
    for key, (section, name) in {"fasta": ("genome", "fasta"), **OPTIONAL_INPUTS}.items():
        given = config[section][name]
        if given and str(given) != sim[key]:
            raise ConfigError(f"{section}.{name}",
                              f"simulate.enabled is true, so this input is the simulation's {sim[key]}, not "
                              f"{given}; remove the key, or set simulate.enabled: false to use your own files")
    for kind in ("peaks", "coverage"):
        for name, given in zip(samples["name"], samples[kind] if kind in samples else [""] * len(samples)):
            if given and str(given) != sim[kind][name]:
                raise ConfigError("samples", f"sample {name!r}: simulate.enabled is true, so its {kind} is simulated "
                                             f"into {sim[kind][name]}; the sheet names {given}. The simulation never "
                                             "writes to a sheet's paths: set simulate.enabled: false to use your files")
    if config["dataset"]["mode"] == "coverage":
        _coverage_column(samples, simulated=True)
    out = {key: sim[key] for key in ("fasta", *OPTIONAL_INPUTS, "peaks")}
    out["coverage"] = sim.get("coverage", {})
    return out


def _peaks_column(samples) -> list[str]:
    """The sheet's peak files; every row needs one outside dataset.mode coverage."""
    missing = [n for n, p in zip(samples["name"], samples["peaks"]) if not p]
    if missing:
        raise ConfigError("samples", f"sample(s) {', '.join(missing[:5])} have no peaks file (a coverage bigWig alone "
                                     "serves dataset.mode coverage only)")
    return list(samples["peaks"])


def _coverage_column(samples, simulated: bool = False) -> list[str]:
    """The sheet's coverage bigWigs; dataset.mode coverage needs the column, and outside a simulation (which writes
    them) a file on every row."""
    if "coverage" not in samples:
        raise ConfigError("samples", "dataset.mode coverage needs a coverage column in the sample sheet (a bigWig "
                                     "per row)")
    missing = [n for n, p in zip(samples["name"], samples["coverage"]) if not p]
    if missing and not simulated:
        raise ConfigError("samples", f"sample(s) {', '.join(missing[:5])} have no coverage bigWig (dataset.mode "
                                     "coverage reads one per row)")
    return list(samples["coverage"])


@lru_cache(maxsize=None)
def _schema(name: str) -> dict:
    import yaml

    return yaml.safe_load((SCHEMA_DIR / name).read_text())


def _defaults(node: dict):
    """The value that validation with ``set_default`` gives an absent key: its default, with the defaults of its
    own properties filled in (as Snakemake's validator does, descending into the default)."""
    node = _resolved(node)
    value = copy.deepcopy(node.get("default"))
    props = node.get("properties")
    if props and isinstance(value, dict):
        for key, sub in props.items():
            if key not in value:
                filled = _defaults(sub)
                if filled is not None or "default" in sub:
                    value[key] = filled
    return value


def schema_defaults(section: str) -> dict:
    """The defaults of a top-level config section (``"train"``, ``"simulate"``, ...) from the schema, the one
    place where defaults are written."""
    props = _schema("config.schema.yaml")["properties"]
    if section not in props:
        raise KeyError(f"no config section {section!r} in {SCHEMA_DIR / 'config.schema.yaml'}")
    return _defaults({**props[section], "default": props[section].get("default", {})})


def _resolved(node: dict) -> dict:
    if "$ref" in node:
        return {**_schema(node["$ref"]), **{k: v for k, v in node.items() if k != "$ref"}}
    return node


def complete_config(config: dict) -> dict:
    """A copy of a config with the schema's defaults filled in, as the workflow's validation fills them (sections
    key by key): the checks here read every key without a fallback of their own."""
    props = _schema("config.schema.yaml")["properties"]
    out = {}
    for key, node in props.items():
        node = _resolved(node)
        if node.get("properties"):
            out[key] = with_defaults(key, config.get(key))
        else:
            out[key] = copy.deepcopy(config[key]) if key in config else _defaults(node)
    return out


def schema_node(*keys: str) -> dict:
    """The schema of config key ``keys`` (``("kmer", "k")``, ``("seed",)``), ``$ref`` resolved."""
    node = _schema("config.schema.yaml")
    for key in keys:
        node = _resolved(node)["properties"][key]
    return _resolved(node)


def accepts(node: dict, value) -> bool:
    """Whether the JSON schema ``node`` (from :func:`schema_node`) accepts ``value``, by jsonschema, the
    validator the workflow's config validation uses."""
    import jsonschema

    return jsonschema.validators.validator_for(node)(node).is_valid(value)


def top_level_default(key: str):
    """The schema's default of a top-level key (``seed``, ``run``)."""
    return _schema("config.schema.yaml")["properties"][key].get("default")


def _nullable(node: dict) -> bool:
    kind = node.get("type")
    return kind == "null" or (isinstance(kind, list) and "null" in kind)


def with_defaults(section: str, values: dict | None, drop: tuple = ()) -> dict:
    """``values`` over the schema's defaults of ``section``, as validation fills them in: a mapping whose schema lists
    its properties is merged key by key, any other value (a free mapping such as ``simulate.programs``, a list)
    replaces the default whole; ``None`` is the key's ``null`` where the schema allows one (``train.max_norm: null``
    turns the max-norm off), else "the default". An unknown key is a :class:`ConfigError` naming
    ``section.key``. ``drop``: keys to leave out of the result (keys of the section the caller does not take)."""

    def merge(base: dict, over: dict, prefix: str, node: dict) -> dict:
        props = _resolved(node).get("properties") or {}
        out = copy.deepcopy(base)
        for key, value in (over or {}).items():
            if key not in props:
                raise ConfigError(f"{prefix}.{key}", f"unknown key (expected one of {', '.join(props)})")
            sub = _resolved(props[key])
            if value is None:
                if _nullable(sub):
                    out[key] = None
                continue
            if isinstance(value, dict) and isinstance(base.get(key), dict) and sub.get("properties"):
                out[key] = merge(base[key], value, f"{prefix}.{key}", sub)
            else:
                out[key] = copy.deepcopy(value)
        return out

    node = _schema("config.schema.yaml")["properties"][section]
    merged = merge(schema_defaults(section), values or {}, section, node)
    return {k: v for k, v in merged.items() if k not in drop}


def choose_targets(names, groups=None, n: int | None = None) -> list[str]:
    """``n`` of the target ``names`` spread over their ``groups`` (lineages; parallel to ``names``, None: one
    group): the groups in order of first appearance, one target of each in turn (each group's in sheet order)
    until ``n`` are taken; ``n`` None or at least ``len(names)``: all, in sheet order. The paper drew 50 cell types
    at random; a spread keeps a small default from landing in one lineage. Here rather than in :mod:`basset.gkmsvm`
    because the workflow names the gkm-SVM jobs from it when it is parsed (no numba import there)."""
    names = [str(x) for x in names]
    if n is None or n >= len(names):
        return names
    if n < 1:
        raise ValueError(f"expected at least one target, got {n}")
    groups = ["" for _ in names] if groups is None else [str(g) for g in groups]
    by_group: dict[str, list[str]] = {}
    for name, group in zip(names, groups):
        by_group.setdefault(group, []).append(name)
    queues = list(by_group.values())
    chosen: list[str] = []
    depth = 0
    while len(chosen) < n:
        for queue in queues:
            if depth < len(queue) and len(chosen) < n:
                chosen.append(queue[depth])
        depth += 1
    taken = set(chosen)
    return [name for name in names if name in taken]


def gkmsvm_targets(config: dict, samples) -> list[str]:
    """The cell types of the gkm-SVM baseline (``gkmsvm.targets``: a number spread over the sample sheet's groups by
    :func:`choose_targets`, or names); none when ``gkmsvm.enabled`` is false. ConfigError for unknown names."""
    cfg = complete_config(config)["gkmsvm"]
    if not cfg["enabled"]:
        return []
    names = [str(n) for n in samples.index]
    wanted = cfg["targets"]
    if isinstance(wanted, list):
        unknown = [t for t in wanted if t not in names]
        if unknown:
            raise ConfigError("gkmsvm.targets", f"unknown target(s) {', '.join(unknown)}; the sample sheet has "
                                                f"{', '.join(names[:6])}{', ...' if len(names) > 6 else ''}")
        listed = set(wanted)
        return [n for n in names if n in listed]
    groups = samples["group"].fillna("").astype(str).tolist() if "group" in samples else None
    return choose_targets(names, groups, int(wanted))


#: the lineage of attribution.shared: the mean over every cell type
SHARED_LINEAGE = "all"


def attribution_lineages(config: dict, samples) -> dict[str, list[str]]:
    """What the attribution stage explains for a config and its sample sheet (:func:`lineages_of` of the sheet's names
    and groups, ``attribution.by`` and ``shared``); empty when ``attribution.enabled`` is false. Here rather than in the
    stage because the workflow names the TF-MoDISco jobs from it when it is parsed."""
    cfg = complete_config(config)["attribution"]
    if not cfg["enabled"]:
        return {}
    names = [str(n) for n in samples.index]
    groups = samples["group"].fillna("").astype(str).tolist() if "group" in samples else None
    return lineages_of(names, groups, cfg["by"], cfg["shared"])


def lineages_of(names, groups=None, by: str = "group", shared: bool = True) -> dict[str, list[str]]:
    """Lineage name -> its cell types (the output explained is their mean logit), in sheet order: with ``by="group"``
    one lineage per group (``groups``, parallel to ``names``; None or empty groups: the lineage ``all``); with
    ``by="target"`` each cell type alone. ``shared`` adds ``all`` (every cell type) when there is more than one
    lineage and none is named so. ConfigError for a name that cannot name a file."""
    names = [str(n) for n in names]
    if by == "target":
        out = {n: [n] for n in names}
    else:
        out = {}
        for name, group in zip(names, groups if groups is not None else [""] * len(names)):
            out.setdefault(str(group) or SHARED_LINEAGE, []).append(name)
    bad = [n for n in out if not n or any(c in n for c in "/\\ \t")]
    if bad:
        raise ConfigError("attribution.by", f"lineage name(s) {', '.join(map(repr, bad))} cannot name a file "
                                            "(no slash, backslash or space)")
    if shared and SHARED_LINEAGE not in out and len(out) > 1:
        out[SHARED_LINEAGE] = names
    return out
