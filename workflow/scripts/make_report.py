"""Rule make_report: the run's self-contained HTML report and its headline numbers with their sources."""
from basset.stages import run_rule
from basset.stages.report import make_report


def main(snakemake):
    run_rule(snakemake, make_report)


if __name__ == "__main__":
    main(snakemake)  # noqa: F821
