"""Rule split_sites: label every merged site train, valid or test (basset.dataset.split_sites)."""

from basset.dataset import split_sites, write_splits
from basset.logs import setup_logging
from basset.peaks import read_sites


def main(snakemake):
    setup_logging(snakemake.log[0])
    opts = snakemake.params.split
    sites = read_sites(snakemake.input.sites)
    labels = split_sites(
        sites,
        method=opts.get("method", "random"),
        valid=opts.get("valid", 0.1),
        test=opts.get("test", 0.1),
        seed=snakemake.params.seed,
    )
    write_splits(snakemake.output.splits, sites["name"].to_numpy(), labels)


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 (injected by Snakemake)
