# Train the CNN (basset.stages.train over basset.train): early stopping on mean validation AUROC,
# a checkpoint every epoch.
# An interrupted job resumes from results/{run}/train/checkpoint.pt, which is not an output and so
# survives a failed or killed job.


rule train_model:
    input:
        h5=out("dataset", "h5"),
    output:
        model=out("train", "model"),
        history=out("train", "history"),
    log:
        log_file("train", "train_model"),
    benchmark:
        bench("train_model")
    conda:
        "../../envs/basset.yaml"
    threads: 2
    resources:
        gpu=GPU,
        mem_mb=8000,
        runtime=720,
    params:
        device=DEVICE,
        model=config["model"],
        train=config["train"],
        seed=config["seed"],
    script:
        "../scripts/train_model.py"
