"""Rule transfer_learning: fine-tune a new head per held-out cell type; test AUROC against the full model; Figure 6."""
from basset.stages import run_rule
from basset.stages.transfer import transfer_learning


def main(snakemake):
    run_rule(snakemake, transfer_learning)


if __name__ == "__main__":
    main(snakemake)  # noqa: F821
