# Evaluate on the test split (Figure 2 of the paper): per-target AUROC/AUPRC of the CNN, a k-mer baseline
# beside it (standing in for the paper's gkm-SVM), ROC curves, and AUROC by site class (basset.stages.evaluate).


rule kmer_baseline:
    input:
        h5=rules.build_dataset.output.h5,
    output:
        kmer_predictions=out("evaluate", "kmer_predictions"),
        kmer_metrics=out("evaluate", "kmer_metrics"),
    log:
        log_file("evaluate", "kmer_baseline"),
    benchmark:
        bench("kmer_baseline")
    conda:
        "../../envs/basset.yaml"
    threads: 2
    resources:
        mem_mb=8000,
        runtime=120,
    params:
        kmer=config["kmer"],
        seed=config["seed"],
    script:
        "../scripts/kmer_baseline.py"


rule evaluate_model:
    input:
        model=rules.train_model.output.model,
        h5=rules.build_dataset.output.h5,
        kmer_metrics=rules.kmer_baseline.output.kmer_metrics,
        sites=rules.merge_peaks.output.sites,
        genes=optional_input(INPUT["genes"]),
    output:
        metrics=out("evaluate", "metrics"),
        by_class=out("evaluate", "by_class"),
        summary=out("evaluate", "summary"),
        fig2a=report(
            out("evaluate", "fig2a"),
            caption="../report/fig2a.rst",
            category="Figure 2: accuracy",
            labels={"figure": "2A"},
        ),
        fig2b=report(
            out("evaluate", "fig2b"),
            caption="../report/fig2b.rst",
            category="Figure 2: accuracy",
            labels={"figure": "2B"},
        ),
        fig2c=report(
            out("evaluate", "fig2c"),
            caption="../report/fig2c.rst",
            category="Figure 2: accuracy",
            labels={"figure": "2C"},
        ),
        fig_classes=report(
            out("evaluate", "fig_classes"),
            caption="../report/site_classes.rst",
            category="Figure 2: accuracy",
            labels={"figure": "site classes"},
        ),
        pdfs=[
            pdf("evaluate", key) for key in ("fig2a", "fig2b", "fig2c", "fig_classes")
        ],
    log:
        log_file("evaluate", "evaluate_model"),
    benchmark:
        bench("evaluate_model")
    conda:
        "../../envs/basset.yaml"
    threads: 2
    resources:
        gpu=GPU,
        mem_mb=8000,
        runtime=120,
    params:
        device=DEVICE,
        evaluate=config["evaluate"],
        seed=config["seed"],
    script:
        "../scripts/evaluate_model.py"
