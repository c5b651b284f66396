"""Rule build_dataset: write the HDF5 dataset of uint8-coded sequences and targets, and its summary TSV."""

from basset.dataset import align_to_sites, build_dataset, read_splits, write_summary
from basset.logs import setup_logging
from basset.peaks import read_activity, read_sites
from basset.sequence import Genome


def main(snakemake):
    setup_logging(snakemake.log[0])
    sites = read_sites(snakemake.input.sites)
    target_names, activity_sites, activity = read_activity(snakemake.input.activity)
    activity = activity[align_to_sites(sites["name"], activity_sites, snakemake.input.activity)]
    split_names, labels = read_splits(snakemake.input.splits)
    labels = labels[align_to_sites(sites["name"], split_names, snakemake.input.splits)]
    with Genome(snakemake.input.fasta) as genome:
        summary = build_dataset(
            snakemake.output.h5,
            genome,
            sites,
            activity,
            target_names,
            labels,
            n_handling=snakemake.params.n_handling,
            max_n_fraction=snakemake.params.max_n_fraction,
            compression=snakemake.params.compression,
            seed=snakemake.params.seed,
            progress=False,  # the log is a file: a progress bar would only fill it with carriage returns
        )
    write_summary(snakemake.output.summary, summary)


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 (injected by Snakemake)
