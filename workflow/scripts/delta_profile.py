"""Rule delta_profile: the top likely causal SNP's Delta across features by assay, and the Delta classes."""
from basset.stages import run_rule
from basset.stages.variants import delta_profile


def main(snakemake):
    run_rule(snakemake, delta_profile)


if __name__ == "__main__":
    main(snakemake)  # noqa: F821
