"""Rule tomtom_filters: compare the filter PWMs with a motif database (Tomtom)."""
from basset.stages import run_rule
from basset.stages.motifs import tomtom_filters


def main(snakemake):
    run_rule(snakemake, tomtom_filters)


if __name__ == "__main__":
    main(snakemake)  # noqa: F821
