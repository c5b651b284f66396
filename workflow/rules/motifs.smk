# Interpret the first-layer filters (Figure 3): PWMs from activating windows, Tomtom against a motif
# database, influence by nullification, motif insertion (basset.stages.motifs over basset.motifs, basset.tomtom,
# basset.influence).


rule filter_motifs:
    input:
        model=rules.train_model.output.model,
        h5=rules.build_dataset.output.h5,
    output:
        filters_meme=out("motifs", "filters_meme"),
        filters=out("motifs", "filters"),
        logos=report(
            out("motifs", "logos"),
            caption="../report/filter_logos.rst",
            category="Figure 3: filters",
            labels={"figure": "filter logos"},
        ),
        logos_pdf=pdf("motifs", "logos"),
    log:
        log_file("motifs", "filter_motifs"),
    conda:
        "../../envs/basset.yaml"
    threads: 2
    resources:
        gpu=GPU,
    params:
        device=DEVICE,
        motifs=keys("motifs", "threshold", "min_sites", "background_gc", "split"),
    script:
        "../scripts/filter_motifs.py"


rule tomtom_filters:
    input:
        filters_meme=rules.filter_motifs.output.filters_meme,
        database=motif_database_input(),
    output:
        tomtom=out("motifs", "tomtom"),
        database_meme=out("motifs", "database_meme"),
        database_table=out("motifs", "database_table"),
    log:
        log_file("motifs", "tomtom_filters"),
    benchmark:
        bench("tomtom_filters")
    conda:
        "../../envs/meme.yaml"
    params:
        motifs=keys(
            "motifs",
            "database",
            "release",
            "tomtom_q",
            "engine",
            "distance",
            "min_overlap",
        ),
    script:
        "../scripts/tomtom_filters.py"


rule filter_influence:
    input:
        model=rules.train_model.output.model,
        h5=rules.build_dataset.output.h5,
    output:
        influence=out("motifs", "influence"),
        fig3c=report(
            out("motifs", "fig3c"),
            caption="../report/fig3c.rst",
            category="Figure 3: filters",
            labels={"figure": "3C"},
        ),
        fig3c_pdf=pdf("motifs", "fig3c"),
    log:
        log_file("motifs", "filter_influence"),
    benchmark:
        bench("filter_influence")
    conda:
        "../../envs/basset.yaml"
    threads: 2
    resources:
        gpu=GPU,
    params:
        device=DEVICE,
        motifs=keys("motifs", "split", "influence"),
    script:
        "../scripts/filter_influence.py"


rule insert_motifs:
    input:
        model=rules.train_model.output.model,
        h5=rules.build_dataset.output.h5,
        truth=simulation_truth(),
    output:
        insertion=out("motifs", "insertion"),
        insertion_figure=report(
            out("motifs", "insertion_figure"),
            caption="../report/insertion.rst",
            category="Figure 3: filters",
            labels={"figure": "motif insertion"},
        ),
        figure_pdf=pdf("motifs", "insertion_figure"),
    log:
        log_file("motifs", "insert_motifs"),
    conda:
        "../../envs/basset.yaml"
    threads: 2
    resources:
        gpu=GPU,
    params:
        device=DEVICE,
        motifs=keys("motifs", "insert", "release", "n_background", "split"),
        seed=config["seed"],
    script:
        "../scripts/insert_motifs.py"


rule summarise_filters:
    input:
        filters=rules.filter_motifs.output.filters,
        filters_meme=rules.filter_motifs.output.filters_meme,
        influence=rules.filter_influence.output.influence,
        tomtom=rules.tomtom_filters.output.tomtom,
        database_meme=rules.tomtom_filters.output.database_meme,
        database_table=rules.tomtom_filters.output.database_table,
        truth=simulation_truth(),
    output:
        filter_summary=out("motifs", "filter_summary"),
        summary=out("motifs", "summary"),
        recovery=out("motifs", "recovery") if SIMULATE else [],
        fig3a=report(
            out("motifs", "fig3a"),
            caption="../report/fig3a.rst",
            category="Figure 3: filters",
            labels={"figure": "3A"},
        ),
        fig3b=report(
            out("motifs", "fig3b"),
            caption="../report/fig3b.rst",
            category="Figure 3: filters",
            labels={"figure": "3B"},
        ),
    log:
        log_file("motifs", "summarise_filters"),
    conda:
        "../../envs/basset.yaml"
    params:
        n_logos=12,
        motifs=keys(
            "motifs", "tomtom_q", "engine", "distance", "min_overlap", "influence"
        ),
    script:
        "../scripts/summarise_filters.py"
