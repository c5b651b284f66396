"""Rule index_genome: link the user's FASTA under resources/genome/ and index the link there."""
from basset.stages import run_rule
from basset.stages.download import index_genome


def main(snakemake):
    run_rule(snakemake, index_genome)


if __name__ == "__main__":
    main(snakemake)  # noqa: F821
