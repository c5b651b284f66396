"""Rule evaluate_model: test-set AUROC/AUPRC of the CNN beside the k-mer baseline, AUROC by site class, Figure 2."""
from basset.stages import run_rule
from basset.stages.evaluate import evaluate_model


def main(snakemake):
    run_rule(snakemake, evaluate_model)


if __name__ == "__main__":
    main(snakemake)  # noqa: F821
