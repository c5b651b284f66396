# basset: from DNase peak calls to the regulatory code of the accessible genome.
# Run `snakemake --cores all` (the embedded simulated default) or with --configfile config/encode_roadmap.yaml.
import importlib.util
import sys
from pathlib import Path

from snakemake.logging import logger
from snakemake.utils import min_version

min_version("8.0")

# The basset package travels with the workflow, in src/: this process imports it from there (no install needed
# to parse the rules), and so does every rule script, because Snakemake hands this process's sys.path to each
# script (its preamble appends it), in a conda environment as well, and a cluster job parses this file again.
# The conda environments therefore list third-party packages only: an `-e ..` in them would resolve against
# the copy Snakemake makes of the env file in .snakemake/conda/, not this folder. A workflow deployed from a
# remote source has no local src/: basset must then be installed where Snakemake runs (README, "Running with
# conda").
BASSET_SRC = (
    Path(workflow.current_basedir.get_path_or_uri(secret_free=True)) / "src"
)  # also as a module
if (BASSET_SRC / "basset" / "__init__.py").is_file():
    _installed = importlib.util.find_spec("basset")
    if (
        _installed is not None
        and Path(_installed.origin).parent.parent.resolve() != BASSET_SRC.resolve()
    ):
        logger.warning(
            f"basset is installed from {Path(_installed.origin).parent}, not from this workflow's "
            f"{BASSET_SRC}: rules run without --use-conda will import the installed one. "
            f"`pip install -e {BASSET_SRC.parent}` makes them the same."
        )
    sys.path.insert(0, str(BASSET_SRC))


# The embedded default (the simulated genome) when no --configfile is given. A config given with --configfile
# is read alone, over the schema's neutral defaults: nothing of the simulated default leaks into a user's run.
if not workflow.overwrite_configfiles:

    configfile: "config/config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/download.smk"
include: "workflow/rules/simulate.smk"


# dataset.mode coverage (Basenji-style runs) builds its dataset from bigWigs and evaluates per track; the stages on
# Basset's sites (merged peaks, k-mer baselines, filters, mutagenesis, transfer, attributions) are not part of it
if COVERAGE:

    include: "workflow/rules/coverage.smk"

else:

    include: "workflow/rules/peaks.smk"
    include: "workflow/rules/dataset.smk"


include: "workflow/rules/train.smk"
include: "workflow/rules/variants.smk"


if not COVERAGE:

    include: "workflow/rules/evaluate.smk"
    include: "workflow/rules/motifs.smk"
    include: "workflow/rules/satmut.smk"
    include: "workflow/rules/transfer.smk"
    include: "workflow/rules/attribution.smk"


include: "workflow/rules/report.smk"


# no rule may write (or, on failure, delete) a file that the user brings
check_user_files_are_not_outputs()


rule all:
    default_target: True
    input:
        final_outputs(),
