"""Rule build_dataset: write the HDF5 dataset of uint8-coded sequences and targets, and its summary TSV."""
from basset.stages import run_rule
from basset.stages.dataset import build_dataset


def main(snakemake):
    run_rule(snakemake, build_dataset)


if __name__ == "__main__":
    main(snakemake)  # noqa: F821
