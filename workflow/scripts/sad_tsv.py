"""Rule sad_tsv: the scored rows of sad.h5 with one SAD column per target, as text."""
from basset.stages import run_rule
from basset.stages.variants import sad_tsv


def main(snakemake):
    run_rule(snakemake, sad_tsv)


if __name__ == "__main__":
    main(snakemake)  # noqa: F821
