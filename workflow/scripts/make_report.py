"""Rule make_report: the run's self-contained HTML report (Figures 2-6 with captions written from the run's
numbers) and its headline numbers with their sources (basset.report)."""

from pathlib import Path

from basset.logs import setup_logging
from basset.report import build_report


def main(snakemake):
    log = setup_logging(snakemake.log[0])
    inp, out, params = snakemake.input, snakemake.output, snakemake.params
    results_dir = Path(inp.evaluate_summary).parent.parent  # results/{run}/evaluate/summary.tsv
    truth = list(inp.get("truth", []))  # simulation.json when the data are simulated, else none
    skipped = dict(getattr(params, "skipped", None) or {})  # {stage: reason} of what the config left out
    headlines = build_report(results_dir, out.html, config=dict(snakemake.config),
                             truth_dir=Path(truth[0]).parent if truth else None,
                             paper_aucs=params.paper_aucs or None, headline_tsv=out.headline, skipped=skipped)
    log.info("%d headline numbers, %d skipped stages in %s", len(headlines), len(skipped), out.html)


if __name__ == "__main__":
    main(snakemake)  # noqa: F821
