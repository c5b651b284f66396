"""Rule kmer_baseline: fit the k-mer baseline on the train split and score the test split."""
from basset.stages import run_rule
from basset.stages.evaluate import kmer_baseline


def main(snakemake):
    run_rule(snakemake, kmer_baseline)


if __name__ == "__main__":
    main(snakemake)  # noqa: F821
