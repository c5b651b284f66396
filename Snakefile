# basset: from DNase peak calls to the regulatory code of the accessible genome.
# Run `snakemake --cores all` (the embedded simulated default) or with --configfile config/encode_roadmap.yaml.
from snakemake.utils import min_version

min_version("8.0")


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


rule all:
    default_target: True
    input:
        final_outputs(),
