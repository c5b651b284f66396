# Train/valid/test split and the HDF5 dataset of uint8-coded sequences and targets (basset.dataset).


rule split_sites:
    input:
        sites=rules.merge_peaks.output.sites,
    output:
        splits=f"results/{RUN}/dataset/splits.tsv",
    log:
        f"logs/{RUN}/dataset/split_sites.log",
    conda:
        "../../envs/basset.yaml"
    params:
        split=config["dataset"]["split"],
        seed=config["seed"],
    script:
        "../scripts/split_sites.py"


rule build_dataset:
    input:
        sites=rules.merge_peaks.output.sites,
        activity=rules.merge_peaks.output.activity,
        splits=rules.split_sites.output.splits,
        fasta=genome_fasta(),
        fai=fasta_index(),
    output:
        h5=f"results/{RUN}/dataset/dataset.h5",
        summary=f"results/{RUN}/dataset/summary.tsv",
    log:
        f"logs/{RUN}/dataset/build_dataset.log",
    benchmark:
        f"results/{RUN}/benchmarks/build_dataset.tsv"
    conda:
        "../../envs/basset.yaml"
    resources:
        mem_mb=8000,
        runtime=60,
    params:
        n_handling=config["dataset"]["n_handling"],
        max_n_fraction=config["dataset"]["max_n_fraction"],
        compression=config["dataset"]["compression"],
        seed=config["seed"],
    script:
        "../scripts/build_dataset.py"
