"""Rule select_pics_variants: the records of the PICS SNPs from a large sites VCF, as a small gzipped VCF."""
from basset.stages import run_rule
from basset.stages.variants import select_pics_variants


def main(snakemake):
    run_rule(snakemake, select_pics_variants)


if __name__ == "__main__":
    main(snakemake)  # noqa: F821
