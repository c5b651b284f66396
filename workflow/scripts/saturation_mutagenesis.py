"""Rule saturation_mutagenesis: loss and gain scores of every nucleotide of the sites' central window, with phyloP."""
from basset.stages import run_rule
from basset.stages.satmut import saturation_mutagenesis


def main(snakemake):
    run_rule(snakemake, saturation_mutagenesis)


if __name__ == "__main__":
    main(snakemake)  # noqa: F821
