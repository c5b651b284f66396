# Transfer learning to held-out cell types (Figure 6 of the paper; basset.transfer): pre-train on the
# public cell types, then give each held-out one a new single-output head and train it for one pass on its
# positives plus as many sampled public negatives; compare with the full multi-task model's test AUROC.


rule hold_out_targets:
    input:
        h5=rules.build_dataset.output.h5,
        metrics=rules.evaluate_model.output.metrics,
    output:
        holdout=f"results/{RUN}/transfer/holdout.tsv",
        public=temp(f"results/{RUN}/transfer/public.h5"),
    log:
        f"logs/{RUN}/transfer/hold_out_targets.log",
    conda:
        "../../envs/basset.yaml"
    resources:
        mem_mb=2000,
        runtime=30,
    params:
        transfer=keys("transfer", "holdout", "k"),
    script:
        "../scripts/hold_out_targets.py"


# the same script as train_model, on the public cell types only
rule pretrain_public:
    input:
        h5=rules.hold_out_targets.output.public,
    output:
        model=f"results/{RUN}/transfer/pretrain/model.pt",
        history=f"results/{RUN}/transfer/pretrain/history.tsv",
    log:
        f"logs/{RUN}/transfer/pretrain_public.log",
    benchmark:
        f"results/{RUN}/benchmarks/pretrain_public.tsv"
    conda:
        "../../envs/basset.yaml"
    threads: 2
    resources:
        gpu=1 if config["train"]["device"] == "cuda" else 0,
        mem_mb=8000,
        runtime=720,
    params:
        model=config["model"],
        train={
            **config["train"],
            "seed": config["seed"],
            "max_epochs": config["transfer"]["pretrain_epochs"]
            or config["train"]["max_epochs"],
        },
        outdir=lambda wildcards, output: str(Path(output.model).parent),
    script:
        "../scripts/train_model.py"


# one job for all the held-out cell types: each is a few seconds of training
rule transfer_learning:
    input:
        h5=rules.build_dataset.output.h5,
        holdout=rules.hold_out_targets.output.holdout,
        pretrained=rules.pretrain_public.output.model,
        history=rules.pretrain_public.output.history,
        metrics=rules.evaluate_model.output.metrics,
    output:
        table=f"results/{RUN}/transfer/transfer.tsv",
        summary=f"results/{RUN}/transfer/summary.tsv",
        fig6=report(
            f"results/{RUN}/transfer/fig6_transfer.png",
            caption="../report/fig6.rst",
            category="Figure 6: transfer",
            labels={"figure": "6"},
        ),
        pdf=f"results/{RUN}/transfer/fig6_transfer.pdf",
    log:
        f"logs/{RUN}/transfer/transfer_learning.log",
    benchmark:
        f"results/{RUN}/benchmarks/transfer_learning.tsv"
    conda:
        "../../envs/basset.yaml"
    threads: 2
    resources:
        gpu=1 if config["train"]["device"] == "cuda" else 0,
        mem_mb=8000,
        runtime=240,
    params:
        transfer=keys("transfer", "lr", "passes", "scratch", "tolerance"),
        train={**config["train"], "seed": config["seed"]},
        evaluate=keys("evaluate", "rc_average"),
        seed=config["seed"],
    script:
        "../scripts/transfer_learning.py"
