"""Rule bin_peaks: DeepSEA's bins and labels from every sample's peaks (dataset.mode deepsea)."""
from basset.stages import run_rule
from basset.stages.peaks import bin_peaks


def main(snakemake):
    run_rule(snakemake, bin_peaks)


if __name__ == "__main__":
    main(snakemake)  # noqa: F821
