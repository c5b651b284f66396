# Helpers shared by every rule file: config and sample-sheet validation, paths, input functions.
# Everything here runs when the workflow is parsed, so a bad config fails before any job starts.

import re
from pathlib import Path

import jsonschema
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from basset.errors import InputError
from basset.samples import is_url, read_sample_sheet


def _schema_error(err):
    """The jsonschema error inside Snakemake's WorkflowError, if any."""
    for arg in getattr(err, "args", ()):
        if isinstance(arg, jsonschema.exceptions.ValidationError):
            return arg
    return None


def _validate_config(cfg):
    try:
        validate(cfg, "../schemas/config.schema.yaml")
    except WorkflowError as err:
        inner = _schema_error(err)
        if inner is None:
            raise
        key = ".".join(str(p) for p in inner.absolute_path) or "(top level)"
        raise WorkflowError(f"Invalid config: key '{key}': {inner.message}") from None


def _load_samples(path):
    if not Path(path).exists():
        raise WorkflowError(f"Invalid config: key 'samples': sample sheet {path} does not exist")
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
        row = re.search(r"row (\d+)", str(err.args[0]))
        line = int(row.group(1)) + 2 if row else "?"
        raise WorkflowError(
            f"Invalid sample sheet: {path}:{line}: column '{'.'.join(map(str, inner.absolute_path))}': "
            f"{inner.message}"
        ) from None
    return sheet


_validate_config(config)
RUN = config["run"]
SIM = config["simulate"]["outdir"].rstrip("/")
SIMULATE = config["simulate"]["enabled"]
SAMPLES = _load_samples(config["samples"])
TARGETS = list(SAMPLES.index)


wildcard_constraints:
    sample="[A-Za-z0-9._-]+",


def produced_here(path):
    """True for inputs that a rule of this workflow makes (downloads, the simulated genome)."""
    path = str(path)
    if path.startswith("resources/downloads/"):
        return path[len("resources/downloads/") :] in (config.get("downloads") or {})
    if SIMULATE and path.startswith(SIM + "/"):
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
        if not is_url(SAMPLES.loc[name, "peaks"]) and not produced_here(path) and not Path(path).exists():
            missing.append(f"sample '{name}' (sample sheet {config['samples']}): peaks file {path}")
    for section, key in (("genome", "fasta"), ("genome", "genes"), ("genome", "phylop"), ("variants", "vcf"),
                         ("variants", "pics")):
        path = config[section].get(key)
        if path and not produced_here(path) and not Path(path).exists():
            missing.append(f"key '{section}.{key}': {path}")
    if missing:
        raise WorkflowError(
            "Missing input files (neither present nor made by a download or simulation rule):\n  "
            + "\n  ".join(missing)
        )


_check_inputs()


def fasta_index():
    return config["genome"]["fasta"] + ".fai"


def final_outputs():
    """What `rule all` asks for: every stage implemented so far."""
    return [
        f"results/{RUN}/peaks/sites.bed",
        f"results/{RUN}/dataset/dataset.h5",
    ]
