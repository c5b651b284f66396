"""Rule score_snps: SNP accessibility difference (SAD = p(alt) - p(ref), per cell type) of every VCF record."""
from basset.stages import run_rule
from basset.stages.variants import score_snps


def main(snakemake):
    run_rule(snakemake, score_snps)


if __name__ == "__main__":
    main(snakemake)  # noqa: F821
