# In-silico saturation mutagenesis (Figure 4 of the paper; basset.stages.satmut over basset.ism and basset.conservation):
# loss and gain scores of every nucleotide of the central window of the test sites, phyloP predicted from
# them by ridge regression, and mutagenesis maps of a few sites.


rule saturation_mutagenesis:
    input:
        model=rules.train_model.output.model,
        h5=rules.build_dataset.output.h5,
        sites=PEAKS.output.sites,
        phylop=optional_input(INPUT["phylop"]),
        fasta=genome_fasta(),
        fai=fasta_index(),
    output:
        scores=out("satmut", "scores"),
        summary=out("satmut", "summary"),
    log:
        log_file("satmut", "saturation_mutagenesis"),
    benchmark:
        bench("saturation_mutagenesis")
    conda:
        "../../envs/basset.yaml"
    threads: 2
    resources:
        gpu=GPU,
        mem_mb=8000,
        runtime=360,
    params:
        device=DEVICE,
        satmut=keys(
            "satmut", "split", "window", "max_sites", "rc_average", "batch_size"
        ),
        seed=config["seed"],
    script:
        "../scripts/saturation_mutagenesis.py"


rule satmut_phylop:
    input:
        scores=rules.saturation_mutagenesis.output.scores,
    output:
        table=out("satmut", "phylop"),
        fig4bcd=report(
            out("satmut", "fig4bcd"),
            caption="../report/fig4bcd.rst",
            category="Figure 4: nucleotides",
            labels={"figure": "4B-D"},
        ),
    log:
        log_file("satmut", "satmut_phylop"),
    conda:
        "../../envs/basset.yaml"
    params:
        satmut=keys("satmut", "exclude_repeats"),
        seed=config["seed"],
    script:
        "../scripts/satmut_phylop.py"


rule plot_satmut:
    input:
        model=rules.train_model.output.model,
        h5=rules.build_dataset.output.h5,
        scores=rules.saturation_mutagenesis.output.scores,
    output:
        fig4a=report(
            out("satmut", "fig4a"),
            caption="../report/fig4a.rst",
            category="Figure 4: nucleotides",
            labels={"figure": "4A"},
        ),
        table=out("satmut", "fig4a_sites"),
    log:
        log_file("satmut", "plot_satmut"),
    conda:
        "../../envs/basset.yaml"
    threads: 2
    resources:
        gpu=GPU,
    params:
        device=DEVICE,
        satmut=keys("satmut", "plot_target", "plot_sites", "plot_window", "rc_average"),
    script:
        "../scripts/plot_satmut.py"
