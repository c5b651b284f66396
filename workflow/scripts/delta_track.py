"""Rule delta_track: a variant's predicted alt - ref coverage along the window, per track."""
from basset.stages import run_rule
from basset.stages.coverage_eval import delta_track


def main(snakemake):
    run_rule(snakemake, delta_track)


if __name__ == "__main__":
    main(snakemake)  # noqa: F821
