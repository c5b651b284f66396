"""Rule split_sites: label every merged site train, valid or test."""
from basset.stages import run_rule
from basset.stages.dataset import split_sites


def main(snakemake):
    run_rule(snakemake, split_sites)


if __name__ == "__main__":
    main(snakemake)  # noqa: F821
