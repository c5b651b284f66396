"""Rule build_dataset: write the HDF5 dataset of uint8-coded sequences and targets, and its summary TSV."""

from basset.dataset import build_dataset_from_files
from basset.logs import setup_logging


def main(snakemake):
    setup_logging(snakemake.log[0])
    build_dataset_from_files(
        snakemake.output.h5,
        snakemake.input.sites,
        snakemake.input.activity,
        snakemake.input.splits,
        snakemake.input.fasta,
        summary_path=snakemake.output.summary,
        n_handling=snakemake.params.n_handling,
        max_n_fraction=snakemake.params.max_n_fraction,
        compression=snakemake.params.compression,
        seed=snakemake.params.seed,
        progress=False,  # the log is a file: a progress bar would only fill it with carriage returns
    )


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 (injected by Snakemake)
