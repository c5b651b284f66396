# The run's report (all stages): one self-contained HTML page laid out like the paper, captions written from
# the run's numbers, headline numbers traced to the stage tables they come from (basset.report).


rule make_report:
    input:
        evaluate_summary=rules.evaluate_model.output.summary,
        metrics=rules.evaluate_model.output.metrics,
        fig2a=rules.evaluate_model.output.fig2a,
        fig2b=rules.evaluate_model.output.fig2b,
        fig2c=rules.evaluate_model.output.fig2c,
        fig_classes=rules.evaluate_model.output.fig_classes,
        motifs_summary=rules.summarise_filters.output.summary,
        filter_table=rules.summarise_filters.output.table,
        fig3a=rules.summarise_filters.output.fig3a,
        fig3b=rules.summarise_filters.output.fig3b,
        fig3c=rules.filter_influence.output.fig3c,
        logos=rules.filter_motifs.output.logos,
        insertion=rules.insert_motifs.output.table,
        insertion_figure=rules.insert_motifs.output.figure,
        satmut_summary=rules.saturation_mutagenesis.output.summary,
        fig4a=rules.plot_satmut.output.fig4a,
        # the stages that the config's inputs allow (as in variant_outputs() of common.smk)
        phylop=(
            [rules.satmut_phylop.output.table, rules.satmut_phylop.output.fig4bcd]
            if INPUT["phylop"]
            else []
        ),
        sad=(
            [rules.score_snps.output.sad, rules.score_snps.output.summary]
            if INPUT["vcf"]
            else []
        ),
        pics=(
            [
                rules.pics_enrichment.output.summary,
                rules.pics_enrichment.output.fig5a,
                rules.pics_enrichment.output.fig5b,
            ]
            if INPUT["vcf"] and INPUT["pics"]
            else []
        ),
        transfer=(
            [
                rules.transfer_learning.output.table,
                rules.transfer_learning.output.summary,
                rules.transfer_learning.output.fig6,
            ]
            if config["transfer"]["enabled"]
            else []
        ),
        # truth/simulation.json; the simulation writes truth/snps.tsv and cell_factor_activity.tsv beside it
        truth=simulation_truth(),
    output:
        html=f"results/{RUN}/report/index.html",
        headline=f"results/{RUN}/report/headline.tsv",
    log:
        f"logs/{RUN}/report/make_report.log",
    conda:
        "../../envs/basset.yaml"
    params:
        paper_aucs=config["report"]["paper_aucs"],
        skipped=SKIPPED,
    script:
        "../scripts/make_report.py"
