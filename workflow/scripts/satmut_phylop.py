"""Rule satmut_phylop: phyloP regressed on the loss and gain scores of the scored nucleotides (Figures 4B-D)."""
from basset.stages import run_rule
from basset.stages.satmut import satmut_phylop


def main(snakemake):
    run_rule(snakemake, satmut_phylop)


if __name__ == "__main__":
    main(snakemake)  # noqa: F821
