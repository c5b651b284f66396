# In-silico saturation mutagenesis (Figure 4 of the paper; basset.mutagenesis, basset.conservation):
# loss and gain scores of every nucleotide of the central window of the test sites, phyloP predicted from
# them by ridge regression, and mutagenesis maps of a few sites.


rule saturation_mutagenesis:
    input:
        model=rules.train_model.output.model,
        h5=rules.build_dataset.output.h5,
        sites=rules.merge_peaks.output.sites,
        phylop=optional_input(INPUT["phylop"]),
    output:
        scores=f"results/{RUN}/satmut/scores.h5",
        summary=f"results/{RUN}/satmut/summary.tsv",
    log:
        f"logs/{RUN}/satmut/saturation_mutagenesis.log",
    benchmark:
        f"results/{RUN}/benchmarks/saturation_mutagenesis.tsv"
    conda:
        "../../envs/basset.yaml"
    threads: 2
    resources:
        gpu=1 if config["train"]["device"] == "cuda" else 0,
        mem_mb=8000,
        runtime=360,
    params:
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
        table=f"results/{RUN}/satmut/phylop_regression.tsv",
        fig4bcd=report(
            f"results/{RUN}/satmut/fig4bcd_phylop.png",
            caption="../report/fig4bcd.rst",
            category="Figure 4: nucleotides",
            labels={"figure": "4B-D"},
        ),
    log:
        f"logs/{RUN}/satmut/satmut_phylop.log",
    conda:
        "../../envs/basset.yaml"
    params:
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
            f"results/{RUN}/satmut/fig4a_maps.png",
            caption="../report/fig4a.rst",
            category="Figure 4: nucleotides",
            labels={"figure": "4A"},
        ),
        table=f"results/{RUN}/satmut/fig4a_sites.tsv",
    log:
        f"logs/{RUN}/satmut/plot_satmut.log",
    conda:
        "../../envs/basset.yaml"
    threads: 2
    params:
        satmut=keys("satmut", "plot_target", "plot_sites", "plot_window", "rc_average"),
    script:
        "../scripts/plot_satmut.py"
