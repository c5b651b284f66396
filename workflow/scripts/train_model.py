"""Rule train_model: train the CNN on the HDF5 dataset (early stopping, checkpoints, resume)."""
from basset.stages import run_rule
from basset.stages.train import train_model


def main(snakemake):
    run_rule(snakemake, train_model)


if __name__ == "__main__":
    main(snakemake)  # noqa: F821
