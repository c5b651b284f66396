"""Rule annotate_patterns: see basset.stages.attribution.annotate_patterns."""
from basset.stages import run_rule
from basset.stages.attribution import annotate_patterns


def main(snakemake):
    run_rule(snakemake, annotate_patterns)


if __name__ == "__main__":
    main(snakemake)  # noqa: F821
