# Train the CNN (basset.train): early stopping on mean validation AUROC, a checkpoint every epoch.
# An interrupted job resumes from results/{run}/train/checkpoint.pt, which is not an output and so
# survives a failed or killed job.


rule train_model:
    input:
        h5=rules.build_dataset.output.h5,
    output:
        model=f"results/{RUN}/train/model.pt",
        history=f"results/{RUN}/train/history.tsv",
    log:
        f"logs/{RUN}/train/train_model.log",
    benchmark:
        f"results/{RUN}/benchmarks/train_model.tsv"
    conda:
        "../../envs/basset.yaml"
    threads: 2
    resources:
        gpu=1 if config["train"]["device"] == "cuda" else 0,
        mem_mb=8000,
        runtime=720,
    params:
        model=config["model"],
        train={**config["train"], "seed": config["seed"]},
        outdir=lambda wildcards, output: str(Path(output.model).parent),
    script:
        "../scripts/train_model.py"
