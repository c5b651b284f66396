# basset: from DNase peak calls to the regulatory code of the accessible genome.
# Run `snakemake --cores all` (the embedded simulated default) or with --configfile config/encode_roadmap.yaml.
from snakemake.utils import min_version

min_version("8.0")


# The embedded default (the simulated genome) when no --configfile is given. A config given with --configfile
# is read alone, over the schema's neutral defaults: nothing of the simulated default leaks into a user's run.
if not workflow.overwrite_configfiles:

    configfile: "config/config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/download.smk"
include: "workflow/rules/simulate.smk"
include: "workflow/rules/peaks.smk"
include: "workflow/rules/dataset.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/motifs.smk"
include: "workflow/rules/satmut.smk"
include: "workflow/rules/variants.smk"
include: "workflow/rules/transfer.smk"
include: "workflow/rules/report.smk"


# no rule may write (or, on failure, delete) a file that the user brings
check_user_files_are_not_outputs()


rule all:
    default_target: True
    input:
        final_outputs(),
