# The run's report (all stages): one self-contained HTML page laid out like the paper, captions written from
# the run's numbers, headline numbers traced to the stage tables they come from (basset.stages.report).


rule make_report:
    input:
        # every file the report reads (basset.layout.REPORT_INPUTS), or none where the config leaves the
        # stage out; the simulation's truth (snps.tsv, cell_factor_activity.tsv lie beside it) when simulated
        **report_files(),
        truth=simulation_truth(),
    output:
        html=out("report", "html"),
        headline=out("report", "headline"),
    log:
        log_file("report", "make_report"),
    conda:
        "../../envs/basset.yaml"
    params:
        paper_aucs=config["report"]["paper_aucs"],
        skipped=SKIPPED,
        # the whole config: the Methods section sets the run's settings beside the paper's (basset.fidelity)
        config={
            **config,
            "run": RUN,
            "simulate": {**config["simulate"], "enabled": SIMULATE},
        },
    script:
        "../scripts/make_report.py"
