# dataset.mode coverage, Basenji-style runs (basset.stages.coverage, basset.stages.coverage_eval): windows tiled
# over the genome with each sample's coverage bigWig summed into bins, the coverage model's evaluation per track,
# the window-size ablation (a second model that reads a short centred stretch of each window), and where in the
# window a variant acts. Training (train.smk) and SAD (variants.smk) are the same rules as in Basset's mode.
ABLATION = config["coverage"]["ablation_context"] is not None


rule build_coverage_dataset:
    input:
        tracks=[coverage_paths()[n] for n in TARGETS],
        fasta=genome_fasta(),
        fai=fasta_index(),
    output:
        h5=out("dataset", "h5"),
        summary=out("dataset", "summary"),
    log:
        log_file("dataset", "build_coverage_dataset"),
    benchmark:
        bench("build_coverage_dataset")
    conda:
        "../../envs/basset.yaml"
    resources:
        mem_mb=8000,
        runtime=120,
    params:
        names=TARGETS,
        dataset=keys(
            "dataset",
            "window",
            "stride",
            "bin",
            "clip_soft",
            "scale",
            "max_n_fraction",
            "n_handling",
            "compression",
            "split",
        ),
        seq_len=site_length(config),
        seed=config["seed"],
    script:
        "../scripts/build_coverage_dataset.py"


rule evaluate_coverage:
    input:
        model=out("train", "model"),
        h5=out("dataset", "h5"),
        samples=config["samples"],
    output:
        coverage_metrics=out("evaluate", "coverage_metrics"),
        coverage_summary=out("evaluate", "coverage_summary"),
        fig_coverage_tracks=report(
            out("evaluate", "fig_coverage_tracks"),
            caption="../report/fig_coverage.rst",
            category="Coverage",
        ),
        fig_coverage_r=report(
            out("evaluate", "fig_coverage_r"),
            caption="../report/fig_coverage.rst",
            category="Coverage",
        ),
    log:
        log_file("evaluate", "evaluate_coverage"),
    conda:
        "../../envs/basset.yaml"
    threads: 2
    resources:
        gpu=GPU,
        mem_mb=8000,
    params:
        device=DEVICE,
        coverage=keys("coverage", "figure_tracks"),
    script:
        "../scripts/evaluate_coverage.py"


if ABLATION:

    rule train_ablation:
        input:
            h5=out("dataset", "h5"),
        output:
            ablation_model=out("train", "ablation_model"),
            ablation_history=out("train", "ablation_history"),
        log:
            log_file("train", "train_ablation"),
        benchmark:
            bench("train_ablation")
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
            coverage=keys("coverage", "ablation_context"),
            seed=config["seed"],
        script:
            "../scripts/train_ablation.py"

    rule window_ablation:
        input:
            model=out("train", "model"),
            short_model=rules.train_ablation.output.ablation_model,
            h5=out("dataset", "h5"),
            samples=config["samples"],
        output:
            ablation=out("evaluate", "ablation"),
            ablation_summary=out("evaluate", "ablation_summary"),
            fig_ablation=report(
                out("evaluate", "fig_ablation"),
                caption="../report/fig_coverage.rst",
                category="Coverage",
            ),
        log:
            log_file("evaluate", "window_ablation"),
        conda:
            "../../envs/basset.yaml"
        threads: 2
        resources:
            gpu=GPU,
            mem_mb=8000,
        params:
            device=DEVICE,
        script:
            "../scripts/window_ablation.py"


if INPUT["vcf"]:

    rule delta_track:
        input:
            model=out("train", "model"),
            fasta=genome_fasta(),
            fai=fasta_index(),
            sad=out("variants", "sad"),
            samples=config["samples"],
        output:
            delta_track=out("variants", "delta_track"),
            summary=out("variants", "delta_track_summary"),
            fig_delta_track=report(
                out("variants", "fig_delta_track"),
                caption="../report/fig_coverage.rst",
                category="Coverage",
            ),
        log:
            log_file("variants", "delta_track"),
        conda:
            "../../envs/basset.yaml"
        threads: 2
        resources:
            gpu=GPU,
        params:
            device=DEVICE,
            coverage=keys("coverage", "figure_tracks", "variant"),
        script:
            "../scripts/delta_track.py"
