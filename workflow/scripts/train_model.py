"""Rule train_model: train the CNN on the HDF5 dataset (early stopping, checkpoints, resume)."""

from basset.logs import setup_logging
from basset.models import model_config
from basset.train import train


def main(snakemake):
    setup_logging(snakemake.log[0])
    cfg = {k: v for k, v in dict(snakemake.params.model).items() if v is not None}
    preset = cfg.pop("preset", "basset")
    train(
        snakemake.input.h5,
        snakemake.params.outdir,
        model_config(preset, **cfg),
        dict(snakemake.params.train),
        resume=True,
        progress=False,
    )


if __name__ == "__main__":
    main(snakemake)  # noqa: F821
