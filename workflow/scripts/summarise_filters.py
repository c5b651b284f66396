"""Rule summarise_filters: the table of all filters, Figures 3A-B and the planted factors' recovery."""
from basset.stages import run_rule
from basset.stages.motifs import summarise_filters


def main(snakemake):
    run_rule(snakemake, summarise_filters)


if __name__ == "__main__":
    main(snakemake)  # noqa: F821
