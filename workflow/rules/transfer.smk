# Transfer learning to held-out cell types (Figure 6 of the paper; basset.stages.transfer over basset.transfer): pre-train on the
# public cell types, then give each held-out one a new single-output head and train it for one pass on its
# positives plus as many sampled public negatives; compare with the full multi-task model's test AUROC.


rule hold_out_targets:
    input:
        h5=rules.build_dataset.output.h5,
        metrics=rules.evaluate_model.output.metrics,
    output:
        holdout=out("transfer", "holdout"),
        public=temp(out("transfer", "public")),
    log:
        log_file("transfer", "hold_out_targets"),
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
        model=out("transfer", "pretrain_model"),
        history=out("transfer", "pretrain_history"),
    log:
        log_file("transfer", "pretrain_public"),
    benchmark:
        bench("pretrain_public")
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
        pretrain_epochs=config["transfer"]["pretrain_epochs"],
        seed=config["seed"],
    script:
        "../scripts/pretrain_public.py"


# one job for all the held-out cell types: each is a few seconds of training
rule transfer_learning:
    input:
        h5=rules.build_dataset.output.h5,
        holdout=rules.hold_out_targets.output.holdout,
        pretrained=rules.pretrain_public.output.model,
        history=rules.pretrain_public.output.history,
        metrics=rules.evaluate_model.output.metrics,
    output:
        table=out("transfer", "table"),
        summary=out("transfer", "summary"),
        fig6=report(
            out("transfer", "fig6"),
            caption="../report/fig6.rst",
            category="Figure 6: transfer",
            labels={"figure": "6"},
        ),
        pdf=pdf("transfer", "fig6"),
        # the fine-tuned models, one <target>.pt each (basset predict, satmut, sad read them)
        models=directory(out("transfer", "models")),
    log:
        log_file("transfer", "transfer_learning"),
    benchmark:
        bench("transfer_learning")
    conda:
        "../../envs/basset.yaml"
    threads: 2
    resources:
        gpu=GPU,
        mem_mb=8000,
        runtime=240,
    params:
        device=DEVICE,
        transfer=keys("transfer", "lr", "passes", "scratch", "tolerance"),
        train=config["train"],
        evaluate=keys("evaluate", "rc_average"),
        seed=config["seed"],
    script:
        "../scripts/transfer_learning.py"
