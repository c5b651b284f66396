"""Rule gather_sad: the shards' SAD files, rejects and counts joined in VCF order."""
from basset.stages import run_rule
from basset.stages.variants import gather_sad


def main(snakemake):
    run_rule(snakemake, gather_sad)


if __name__ == "__main__":
    main(snakemake)  # noqa: F821
