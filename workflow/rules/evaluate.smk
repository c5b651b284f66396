# Evaluate on the test split (Figure 2 of the paper): per-target AUROC/AUPRC of the CNN, a k-mer baseline
# beside it (standing in for the paper's gkm-SVM), ROC curves, and AUROC by site class (basset.evaluate).


rule kmer_baseline:
    input:
        h5=rules.build_dataset.output.h5,
    output:
        predictions=f"results/{RUN}/evaluate/kmer_predictions.tsv.gz",
        metrics=f"results/{RUN}/evaluate/kmer_metrics.tsv",
    log:
        f"logs/{RUN}/evaluate/kmer_baseline.log",
    benchmark:
        f"results/{RUN}/benchmarks/kmer_baseline.tsv"
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
        kmer_metrics=rules.kmer_baseline.output.metrics,
        sites=rules.merge_peaks.output.sites,
        genes=optional_input(INPUT["genes"]),
    output:
        metrics=f"results/{RUN}/evaluate/metrics.tsv",
        by_class=f"results/{RUN}/evaluate/auroc_by_class.tsv",
        summary=f"results/{RUN}/evaluate/summary.tsv",
        fig2a=report(
            f"results/{RUN}/evaluate/fig2a_heatmap.png",
            caption="../report/fig2a.rst",
            category="Figure 2: accuracy",
            labels={"figure": "2A"},
        ),
        fig2b=report(
            f"results/{RUN}/evaluate/fig2b_cnn_vs_kmer.png",
            caption="../report/fig2b.rst",
            category="Figure 2: accuracy",
            labels={"figure": "2B"},
        ),
        fig2c=report(
            f"results/{RUN}/evaluate/fig2c_roc.png",
            caption="../report/fig2c.rst",
            category="Figure 2: accuracy",
            labels={"figure": "2C"},
        ),
        fig_classes=report(
            f"results/{RUN}/evaluate/auroc_by_class.png",
            caption="../report/site_classes.rst",
            category="Figure 2: accuracy",
            labels={"figure": "site classes"},
        ),
        pdfs=[
            f"results/{RUN}/evaluate/{stem}.pdf"
            for stem in (
                "fig2a_heatmap",
                "fig2b_cnn_vs_kmer",
                "fig2c_roc",
                "auroc_by_class",
            )
        ],
    log:
        f"logs/{RUN}/evaluate/evaluate_model.log",
    benchmark:
        f"results/{RUN}/benchmarks/evaluate_model.tsv"
    conda:
        "../../envs/basset.yaml"
    threads: 2
    resources:
        gpu=1 if config["train"]["device"] == "cuda" else 0,
        mem_mb=8000,
        runtime=120,
    params:
        evaluate=config["evaluate"],
        seed=config["seed"],
    script:
        "../scripts/evaluate_model.py"
