"""Rule build_coverage_dataset: the coverage HDF5 dataset (windows x bins x tracks) from the sheet's bigWigs."""
from basset.stages import run_rule
from basset.stages.coverage import build_coverage_dataset


def main(snakemake):
    run_rule(snakemake, build_coverage_dataset)


if __name__ == "__main__":
    main(snakemake)  # noqa: F821
