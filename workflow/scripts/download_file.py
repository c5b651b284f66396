"""Rules download_resource and download_peaks: fetch one URL atomically (checksum, optional gunzip)."""
from basset.stages import run_rule
from basset.stages.download import download_file


def main(snakemake):
    run_rule(snakemake, download_file)


if __name__ == "__main__":
    main(snakemake)  # noqa: F821
