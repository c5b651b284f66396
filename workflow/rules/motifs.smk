# Interpret the first-layer filters (Figure 3): PWMs from activating windows, Tomtom against a motif
# database, influence by nullification, motif insertion (basset.motifs, basset.influence).


rule filter_motifs:
    input:
        model=rules.train_model.output.model,
        h5=rules.build_dataset.output.h5,
    output:
        meme=f"results/{RUN}/motifs/filters.meme",
        table=f"results/{RUN}/motifs/filters.tsv",
        logos=report(
            f"results/{RUN}/motifs/filter_logos.png",
            caption="../report/filter_logos.rst",
            category="Figure 3: filters",
            labels={"figure": "filter logos"},
        ),
        logos_pdf=f"results/{RUN}/motifs/filter_logos.pdf",
    log:
        f"logs/{RUN}/motifs/filter_motifs.log",
    conda:
        "../../envs/basset.yaml"
    threads: 2
    params:
        motifs=keys("motifs", "threshold", "min_sites", "background_gc", "split"),
    script:
        "../scripts/filter_motifs.py"


rule tomtom_filters:
    input:
        filters=rules.filter_motifs.output.meme,
        database=motif_database_input(),
    output:
        tsv=f"results/{RUN}/motifs/tomtom.tsv",
        database_meme=f"results/{RUN}/motifs/database.meme",
        database_table=f"results/{RUN}/motifs/database.tsv",
    log:
        f"logs/{RUN}/motifs/tomtom_filters.log",
    benchmark:
        f"results/{RUN}/benchmarks/tomtom_filters.tsv"
    conda:
        "../../envs/basset.yaml"
    params:
        database=config["motifs"]["database"],
        release=config["motifs"]["release"],
        thresh=config["motifs"]["tomtom_q"],
        engine=config["motifs"]["engine"],
        distance=config["motifs"]["distance"],
    script:
        "../scripts/tomtom_filters.py"


rule filter_influence:
    input:
        model=rules.train_model.output.model,
        h5=rules.build_dataset.output.h5,
    output:
        table=f"results/{RUN}/motifs/influence.tsv",
        fig3c=report(
            f"results/{RUN}/motifs/fig3c_influence.png",
            caption="../report/fig3c.rst",
            category="Figure 3: filters",
            labels={"figure": "3C"},
        ),
        fig3c_pdf=f"results/{RUN}/motifs/fig3c_influence.pdf",
    log:
        f"logs/{RUN}/motifs/filter_influence.log",
    benchmark:
        f"results/{RUN}/benchmarks/filter_influence.tsv"
    conda:
        "../../envs/basset.yaml"
    threads: 2
    resources:
        gpu=1 if config["train"]["device"] == "cuda" else 0,
    params:
        split=config["motifs"]["split"],
        seed=config["seed"],
    script:
        "../scripts/filter_influence.py"


rule insert_motifs:
    input:
        model=rules.train_model.output.model,
        h5=rules.build_dataset.output.h5,
        truth=simulation_truth(),
    output:
        table=f"results/{RUN}/motifs/insertion.tsv",
        figure=report(
            f"results/{RUN}/motifs/motif_insertion.png",
            caption="../report/insertion.rst",
            category="Figure 3: filters",
            labels={"figure": "motif insertion"},
        ),
        figure_pdf=f"results/{RUN}/motifs/motif_insertion.pdf",
    log:
        f"logs/{RUN}/motifs/insert_motifs.log",
    conda:
        "../../envs/basset.yaml"
    threads: 2
    params:
        motifs=insert_motif_specs(),
        release=config["motifs"]["release"],
        n_background=config["motifs"]["n_background"],
        split=config["motifs"]["split"],
        seed=config["seed"],
    script:
        "../scripts/insert_motifs.py"


rule summarise_filters:
    input:
        filters=rules.filter_motifs.output.table,
        filters_meme=rules.filter_motifs.output.meme,
        influence=rules.filter_influence.output.table,
        tomtom=rules.tomtom_filters.output.tsv,
        database_meme=rules.tomtom_filters.output.database_meme,
        database_table=rules.tomtom_filters.output.database_table,
        truth=simulation_truth(),
    output:
        table=f"results/{RUN}/motifs/filter_summary.tsv",
        summary=f"results/{RUN}/motifs/summary.tsv",
        recovery=f"results/{RUN}/motifs/planted_factor_recovery.tsv" if SIMULATE else [],
        fig3a=report(
            f"results/{RUN}/motifs/fig3a_ic_vs_influence.png",
            caption="../report/fig3a.rst",
            category="Figure 3: filters",
            labels={"figure": "3A"},
        ),
        fig3b=report(
            f"results/{RUN}/motifs/fig3b_matches.png",
            caption="../report/fig3b.rst",
            category="Figure 3: filters",
            labels={"figure": "3B"},
        ),
    log:
        f"logs/{RUN}/motifs/summarise_filters.log",
    conda:
        "../../envs/basset.yaml"
    params:
        n_logos=12,
        thresh=config["motifs"]["tomtom_q"],
        engine=config["motifs"]["engine"],
        distance=config["motifs"]["distance"],
    script:
        "../scripts/summarise_filters.py"
