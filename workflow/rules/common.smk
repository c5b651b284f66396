# Helpers shared by all the .smk files: config and sample-sheet validation, paths, input functions.
# Everything here runs when the workflow is parsed, so a bad config fails before any job starts.

import re
from pathlib import Path

from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from basset.errors import InputError
from basset.samples import is_url, read_sample_sheet


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
        validate(cfg, "../schemas/config.schema.yaml")
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
        validate(sheet, "../schemas/samples.schema.yaml")
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


_validate_config(config)
RUN = config["run"]
SIM = config["simulate"]["outdir"].rstrip("/")
SIMULATE = config["simulate"]["enabled"]
SAMPLES = _load_samples(config["samples"])
TARGETS = list(SAMPLES.index)


def produced_here(path):
    """True for inputs that a rule of this workflow makes (downloads, the simulated genome)."""
    path = str(path)
    if path.startswith("resources/downloads/"):
        return path[len("resources/downloads/") :] in (config.get("downloads") or {})
    if SIMULATE and path.startswith(f"{SIM}/"):
        return True
    return False


def peaks_path(name):
    """Where the merge reads sample `name`'s peaks: the local file, or the download of its URL."""
    peaks = SAMPLES.loc[name, "peaks"]
    return f"resources/peaks/{name}.bed.gz" if is_url(peaks) else peaks


def simulated_peak_files():
    return [peaks_path(n) for n in TARGETS if not is_url(SAMPLES.loc[n, "peaks"])]


def _check_inputs():
    """Fail at parse time, naming the key or sample, for local inputs that exist nowhere."""
    missing = []
    for name in TARGETS:
        path = peaks_path(name)
        if (
            not is_url(SAMPLES.loc[name, "peaks"])
            and not produced_here(path)
            and not Path(path).exists()
        ):
            missing.append(
                f"sample '{name}' (sample sheet {config['samples']}): peaks file {path}"
            )
    for section, key in (
        ("genome", "fasta"),
        ("genome", "genes"),
        ("genome", "phylop"),
        ("variants", "vcf"),
        ("variants", "pics"),
    ):
        path = config[section].get(key)
        if path and not produced_here(path) and not Path(path).exists():
            missing.append(f"key '{section}.{key}': {path}")
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


_check_inputs()


def optional_input(path):
    """``path`` as an input when the config names one, else no input (for optional annotations)."""
    return [path] if path else []


def motif_database_input():
    """The motif database file, or no input when it is JASPAR (exported by the Tomtom rule itself)."""
    database = config["motifs"]["database"]
    return [] if database.lower() == "jaspar" else [database]


def simulation_truth():
    """The simulation's truth summary (planted factors) as an input, when the data are simulated."""
    return [f"{SIM}/truth/simulation.json"] if SIMULATE else []


def fasta_index():
    return f"{config['genome']['fasta']}.fai"


def final_outputs():
    """The targets of the default target: the last output of every stage implemented so far."""
    return [
        f"results/{RUN}/peaks/sites.bed",
        f"results/{RUN}/dataset/dataset.h5",
        f"results/{RUN}/evaluate/summary.tsv",
        f"results/{RUN}/motifs/summary.tsv",
        f"results/{RUN}/motifs/insertion.tsv",
        f"results/{RUN}/satmut/fig4a_maps.png",
        *variant_outputs(),
        *transfer_outputs(),
        f"results/{RUN}/report/index.html",
    ]


def transfer_outputs():
    """Figure 6 (transfer learning to held-out cell types) when transfer.enabled."""
    if not config["transfer"]["enabled"]:
        return []
    return [f"results/{RUN}/transfer/summary.tsv"]


def variant_outputs():
    """Conservation and variant outputs that the config's inputs allow: phyloP regression needs genome.phylop,
    SAD needs variants.vcf, the PICS enrichment both variants.vcf and variants.pics."""
    out = []
    if config["genome"].get("phylop"):
        out.append(f"results/{RUN}/satmut/phylop_regression.tsv")
    if config["variants"].get("vcf"):
        out.append(f"results/{RUN}/variants/sad.tsv.gz")
        if config["variants"].get("pics"):
            out.append(f"results/{RUN}/variants/pics_enrichment.tsv")
    return out
