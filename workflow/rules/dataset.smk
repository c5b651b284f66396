# Train/valid/test split and the HDF5 dataset of uint8-coded sequences and targets (basset.dataset).


rule split_sites:
    input:
        sites=PEAKS.output.sites,
    output:
        splits=out("dataset", "splits"),
    log:
        log_file("dataset", "split_sites"),
    conda:
        "../../envs/basset.yaml"
    params:
        split=config["dataset"]["split"],
        seed=config["seed"],
    script:
        "../scripts/split_sites.py"


rule build_dataset:
    input:
        sites=PEAKS.output.sites,
        activity=PEAKS.output.activity,
        splits=rules.split_sites.output.splits,
        fasta=genome_fasta(),
        fai=fasta_index(),
    output:
        h5=out("dataset", "h5"),
        summary=out("dataset", "summary"),
    log:
        log_file("dataset", "build_dataset"),
    benchmark:
        bench("build_dataset")
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
