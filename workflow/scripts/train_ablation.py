"""Rule train_ablation: train the short-window model of the window-size ablation."""
from basset.stages import run_rule
from basset.stages.coverage_eval import train_ablation


def main(snakemake):
    run_rule(snakemake, train_ablation)


if __name__ == "__main__":
    main(snakemake)  # noqa: F821
