"""Rule merge_peaks: merge every sample's peaks into fixed-width sites with a 0/1 activity per target."""
from basset.stages import run_rule
from basset.stages.peaks import merge_peaks


def main(snakemake):
    run_rule(snakemake, merge_peaks)


if __name__ == "__main__":
    main(snakemake)  # noqa: F821
