"""Rule plot_satmut: Figure 4A, mutagenesis maps of the sites most strongly predicted accessible in one cell type."""
from basset.stages import run_rule
from basset.stages.satmut import plot_satmut


def main(snakemake):
    run_rule(snakemake, plot_satmut)


if __name__ == "__main__":
    main(snakemake)  # noqa: F821
