# Helpers shared by all the .smk files: config and sample-sheet validation, input paths, input functions.
# Everything here runs when the workflow is parsed, so a bad config fails before any job starts.

import os
import re
from pathlib import Path

from snakemake.exceptions import WorkflowError
from snakemake.logging import logger
from snakemake.utils import validate

from basset import layout
from basset.config import (
    PICS_VCF,
    attribution_lineages,
    SCHEMA_DIR,
    check_config,
    check_targets,
    gkmsvm_targets,
    produces,
    site_length,
    skipped_stages,
    target_weights,
    workflow_inputs,
)
from basset.errors import BassetError, InputError
from basset.fileio import sniff_genome
from basset.samples import is_url, read_sample_sheet
from basset.simulate import check_programs, simulated_paths


def _schema_error(err):
    """(dotted key path, message) of the JSON-schema error in Snakemake's WorkflowError text, or None."""
    text = str(err)
    found = re.search(r"ValidationError: (.*)", text)
    if not found:
        return None
    where = re.search(r"On instance((?:\[[^\]]+\])*)", text)
    keys = re.findall(r"\[['\"]?([^\]'\"]*)['\"]?\]", where.group(1)) if where else []
    return ".".join(keys) or "(top level)", found.group(1)


def _validate_config(cfg):
    try:
        validate(cfg, str(SCHEMA_DIR / "config.schema.yaml"))
    except WorkflowError as err:
        inner = _schema_error(err)
        if inner is None:
            raise
        raise WorkflowError(f"Invalid config: key '{inner[0]}': {inner[1]}") from None


def _load_samples(path):
    if not Path(path).exists():
        raise WorkflowError(
            f"Invalid config: key 'samples': sample sheet {path} does not exist"
        )
    try:
        sheet = read_sample_sheet(path)
    except InputError as err:
        raise WorkflowError(f"Invalid sample sheet: {err}") from None
    try:
        validate(sheet, str(SCHEMA_DIR / "samples.schema.yaml"))
    except WorkflowError as err:
        inner = _schema_error(err)
        if inner is None:
            raise
        row = re.search(r"row (\d+)", str(err))
        line = int(row.group(1)) + 2 if row else "?"
        raise WorkflowError(
            f"Invalid sample sheet: {path}:{line}: column '{inner[0]}': {inner[1]}"
        ) from None
    return sheet


def _checked(function, *args):
    """Run a basset check at parse time; its error becomes Snakemake's, naming the key or file."""
    try:
        return function(*args)
    except BassetError as err:
        raise WorkflowError(f"Invalid config: {err}") from None


_validate_config(config)
_checked(check_config, config)
RUN = config["run"]
# the one device key (train.device) decides every model-running rule's device (basset.device.resolve_device in
# the job) and, here, the gpu resource that profiles map to a cluster's GPUs: cuda asks for one, cpu and auto none
DEVICE = config["train"]["device"]
GPU = 1 if str(DEVICE).startswith("cuda") else 0
SIMULATE = bool(config["simulate"].get("enabled", False))
SIM = config["simulate"].get("outdir", "resources/simulated").rstrip("/")
SAMPLES = _load_samples(config["samples"])
TARGETS = list(SAMPLES.index)
_checked(check_targets, config, TARGETS)
# variants.weights by target, the assays named in it spread over their targets (basset.config.target_weights)
WEIGHTS = _checked(target_weights, config, SAMPLES)
if SIMULATE:
    _checked(check_programs, SAMPLES, config["simulate"])
# every input file, decided once (basset.config.workflow_inputs): the simulation's files under its own folder,
# or the user's files, which no rule ever writes
INPUT = _checked(workflow_inputs, config, SAMPLES)
# dataset.mode coverage (Basenji-style runs) reads each sample's coverage bigWig instead of its peaks
COVERAGE = config["dataset"]["mode"] == "coverage"
SAMPLE_COLUMN = "coverage" if COVERAGE else "peaks"
SAMPLE_FILES = INPUT[SAMPLE_COLUMN]
SKIPPED = skipped_stages(config, INPUT)
if workflow.is_main_process:
    for _stage, _reason in SKIPPED.items():
        logger.info(f"basset: skipping {_stage}: {_reason}")


def produced_here(path):
    """True for inputs that a rule of this workflow makes (downloads, the simulated genome)."""
    path = str(path)
    if path.startswith("resources/downloads/"):
        return path[len("resources/downloads/") :] in (config.get("downloads") or {})
    if path.startswith("resources/peaks/") or path == PICS_VCF:
        return True
    return SIMULATE and path.startswith(f"{SIM}/")


def peaks_path(name):
    """Where the merge reads sample `name`'s peaks: the user's file, its download, or the simulation's."""
    return INPUT["peaks"][name]


def coverage_paths():
    """Each sample's coverage bigWig (dataset.mode coverage), by sample name: the user's, its download, or the
    simulation's."""
    return INPUT["coverage"]


def _check_inputs():
    """Fail at parse time, naming the key or sample, for local inputs that exist nowhere or cannot be read."""
    missing = []
    for name in TARGETS:
        path = SAMPLE_FILES[name]
        if not produced_here(path) and not Path(path).exists():
            missing.append(
                f"sample '{name}' (sample sheet {config['samples']}): {SAMPLE_COLUMN} file {path}"
            )
    for key, label in (
        ("fasta", "genome.fasta"),
        ("genes", "genome.genes"),
        ("phylop", "genome.phylop"),
        ("vcf", "variants.vcf"),
        ("pics", "variants.pics"),
    ):
        path = INPUT[key]
        if path and not produced_here(path) and not Path(path).exists():
            missing.append(
                f"key '{label}': {path} (null skips the stages that need it)"
            )
    database = config["motifs"]["database"]
    if (
        database.lower() != "jaspar"
        and not produced_here(database)
        and not Path(database).exists()
    ):
        missing.append(f"key 'motifs.database': {database}")
    if missing:
        raise WorkflowError(
            "Missing input files (neither present nor made by a download or simulation rule):\n  "
            + "\n  ".join(missing)
        )
    fasta = INPUT["fasta"]
    if not produced_here(fasta):
        kind = _checked(sniff_genome, fasta)
        if kind != "fasta":
            raise WorkflowError(
                f"Invalid config: genome.fasta: {fasta} is "
                + (
                    "gzip-compressed, which cannot be read at random positions: gunzip it"
                    if kind == "fasta.gz"
                    else "a chromosome-sizes table, not a FASTA genome"
                )
            )


_check_inputs()


def out(stage, key):
    """The results file ``key`` of ``stage`` for this run (basset.layout declares every file name once)."""
    return str(layout.path(layout.results_dir(RUN), stage, key))


def pdf(stage, key):
    """The PDF written beside the figure ``key`` of ``stage``."""
    return layout.pdf(out(stage, key))


def log_file(stage, rule_name):
    return layout.log(RUN, stage, rule_name)


def bench(rule_name):
    return layout.benchmark(RUN, rule_name)


def genome_fasta():
    """The genome FASTA that jobs read: the simulation's, or a link under resources/genome/ to the user's FASTA
    (so that its index is written there, never beside the user's file)."""
    if SIMULATE:
        return INPUT["fasta"]
    return f"resources/genome/{Path(INPUT['fasta']).name}"


def fasta_index():
    return f"{genome_fasta()}.fai"


def keys(section, *names):
    """Only the keys of a config section that a rule uses, as its params (so that a change to another key of the
    section does not re-run the rule)."""
    return {name: config[section][name] for name in names}


def optional_input(path):
    """``path`` as an input when the config names one, else no input (for optional annotations)."""
    return [path] if path else []


def motif_database_input():
    """The motif database file, or no input when it is JASPAR (exported by the Tomtom rule itself)."""
    database = config["motifs"]["database"]
    return [] if database.lower() == "jaspar" else [database]


def simulation_truth():
    """The simulation's truth summary (planted factors) as an input, when the data are simulated."""
    return [f"{SIM}/{layout.OUTPUTS['summary']}"] if SIMULATE else []


def simulation_instances():
    """The simulation's planted motif instances as an input, when the data are simulated."""
    return [f"{SIM}/{layout.OUTPUTS['motif_instances']}"] if SIMULATE else []


def check_user_files_are_not_outputs():
    """Refuse a DAG in which a file that the user brings could be written (or deleted) by a rule."""
    user = [
        p for p in (INPUT[k] for k in ("fasta", "genes", "phylop", "vcf", "pics")) if p
    ]
    user += list(INPUT["peaks"].values()) + list(INPUT["coverage"].values())
    user = [p for p in user if not produced_here(p)]
    for producer in workflow.rules:
        for path in user:
            if producer.is_producer(path):
                raise WorkflowError(
                    f"Refusing to run: {producer.name} would write your input {path}"
                )


def final_outputs():
    """The targets of the default target: the last output of every stage this config runs."""
    wanted = [
        ("peaks", "sites"),
        ("peaks", "bin_sites"),
        ("dataset", "h5"),
        ("evaluate", "summary"),
        ("evaluate", "by_assay"),
        ("motifs", "summary"),
        ("motifs", "insertion"),
        ("satmut", "fig4a"),
        ("satmut", "phylop"),
        ("variants", "sad"),
        ("variants", "targets_tsv"),
        ("variants", "pics_summary"),
        ("variants", "delta_summary"),
        ("evaluate", "coverage_summary"),
        ("evaluate", "ablation_summary"),
        ("variants", "delta_track_summary"),
        ("transfer", "summary"),
        ("attribution", "summary"),
        ("report", "html"),
    ]
    return [out(stage, key) for stage, key in wanted if produced(stage, key)]


def produced(stage, key):
    """Whether this config's DAG makes the results file ``key`` of ``stage`` (basset.config.produces)."""
    return produces(config, INPUT, stage, key)


def report_files():
    """The report's inputs by name (``<stage>_<key>``), an empty list for a file this config does not make."""
    return {
        layout.input_name(stage, key): out(stage, key) if produced(stage, key) else []
        for stage, key in layout.REPORT_INPUTS
    }
