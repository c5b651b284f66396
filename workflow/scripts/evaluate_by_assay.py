"""Rule evaluate_by_assay: see basset.stages.evaluate.evaluate_by_assay."""
from basset.stages import run_rule
from basset.stages.evaluate import evaluate_by_assay


def main(snakemake):
    run_rule(snakemake, evaluate_by_assay)


if __name__ == "__main__":
    main(snakemake)  # noqa: F821
