"""Rule window_ablation: score the long- and the short-window model on the same test bins."""
from basset.stages import run_rule
from basset.stages.coverage_eval import window_ablation


def main(snakemake):
    run_rule(snakemake, window_ablation)


if __name__ == "__main__":
    main(snakemake)  # noqa: F821
