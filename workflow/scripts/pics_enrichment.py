"""Rule pics_enrichment: likely-causal vs unlikely GWAS SNPs by SAD (Figure 5A) and the maps around the top SNP (5B)."""
from basset.stages import run_rule
from basset.stages.variants import pics_enrichment


def main(snakemake):
    run_rule(snakemake, pics_enrichment)


if __name__ == "__main__":
    main(snakemake)  # noqa: F821
