"""Rule evaluate_coverage: the coverage model per track on the test windows (r of log and of summed coverage)."""
from basset.stages import run_rule
from basset.stages.coverage_eval import evaluate_coverage_model


def main(snakemake):
    run_rule(snakemake, evaluate_coverage_model)


if __name__ == "__main__":
    main(snakemake)  # noqa: F821
