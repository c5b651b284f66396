"""Rule pretrain_public: pre-train the CNN on the public cell types for transfer learning (train_model's training)."""
from basset.stages import run_rule
from basset.stages.train import pretrain_public


def main(snakemake):
    run_rule(snakemake, pretrain_public)


if __name__ == "__main__":
    main(snakemake)  # noqa: F821
