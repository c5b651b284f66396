# Evaluate on the test split (Figure 2 of the paper): per-target AUROC/AUPRC of the CNN, a k-mer baseline
# beside it for every cell type, the paper's gkm-SVM for gkmsvm.targets cell types (one job each, joined by
# gkmsvm_baseline), ROC curves, and AUROC by site class (basset.stages.evaluate).
GKMSVM_TARGETS = _checked(gkmsvm_targets, config, SAMPLES)


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


rule gkmsvm_target:
    input:
        h5=rules.build_dataset.output.h5,
    output:
        part=out("evaluate", "gkmsvm_part"),
        metrics=out("evaluate", "gkmsvm_part_metrics"),
    log:
        log_file("evaluate", "gkmsvm_{target}"),
    benchmark:
        bench("gkmsvm_{target}")
    wildcard_constraints:
        target="|".join(re.escape(t) for t in GKMSVM_TARGETS) or "^$",
    conda:
        "../../envs/basset.yaml"
    threads: 2
    resources:
        gpu=GPU,
        mem_mb=8000,
        runtime=600,
    params:
        device=DEVICE,
        target=lambda wc: wc.target,
        gkmsvm=config["gkmsvm"],
        seed=config["seed"],
    script:
        "../scripts/gkmsvm_target.py"


rule gkmsvm_baseline:
    input:
        parts=expand(out("evaluate", "gkmsvm_part"), target=GKMSVM_TARGETS),
        part_metrics=expand(
            out("evaluate", "gkmsvm_part_metrics"), target=GKMSVM_TARGETS
        ),
    output:
        predictions=out("evaluate", "gkmsvm_predictions"),
        metrics=out("evaluate", "gkmsvm_metrics"),
    log:
        log_file("evaluate", "gkmsvm_baseline"),
    conda:
        "../../envs/basset.yaml"
    script:
        "../scripts/gkmsvm_baseline.py"


rule evaluate_model:
    input:
        model=rules.train_model.output.model,
        h5=rules.build_dataset.output.h5,
        kmer_metrics=rules.kmer_baseline.output.kmer_metrics,
        kmer_predictions=rules.kmer_baseline.output.kmer_predictions,
        gkmsvm_predictions=(
            rules.gkmsvm_baseline.output.predictions if GKMSVM_TARGETS else []
        ),
        gkmsvm_metrics=rules.gkmsvm_baseline.output.metrics if GKMSVM_TARGETS else [],
        sites=PEAKS.output.sites,
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


# dataset.mode deepsea: the features' AUROC and AUPRC grouped by the sample sheet's assay column, as DeepSEA reports
# them (basset.stages.evaluate.evaluate_by_assay).
rule evaluate_by_assay:
    input:
        metrics=rules.evaluate_model.output.metrics,
        samples=config["samples"],
    output:
        by_assay=out("evaluate", "by_assay"),
        assay_summary=out("evaluate", "assay_summary"),
        fig_assay=report(
            out("evaluate", "fig_assay"),
            caption="../report/fig_assay.rst",
            category="Figure 2: accuracy",
            labels={"figure": "AUROC by assay"},
        ),
        fig_assay_pdf=pdf("evaluate", "fig_assay"),
    log:
        log_file("evaluate", "evaluate_by_assay"),
    conda:
        "../../envs/basset.yaml"
    script:
        "../scripts/evaluate_by_assay.py"
