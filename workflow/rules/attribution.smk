# Beyond the paper's filters (Figure 7): DeepLIFT/SHAP attributions of each lineage's test sites (tangermeme),
# TF-MoDISco patterns from them (modisco-lite, one job per lineage) and the patterns annotated against JASPAR and
# CIS-BP, graded against the planted factors on simulated data (basset.stages.attribution over basset.attribution
# and basset.modisco).
LINEAGES = _checked(attribution_lineages, config, SAMPLES)


rule attribute_sites:
    input:
        model=rules.train_model.output.model,
        h5=rules.build_dataset.output.h5,
        sites=PEAKS.output.sites,
        instances=simulation_instances(),
    output:
        attributions=out("attribution", "attributions"),
        truth=out("attribution", "truth") if SIMULATE else [],
        fig_tracks=report(
            out("attribution", "fig_tracks"),
            caption="../report/fig7c.rst",
            category="Figure 7: attributions",
            labels={"figure": "7C"},
        ),
        fig_tracks_pdf=pdf("attribution", "fig_tracks"),
    log:
        log_file("attribution", "attribute_sites"),
    benchmark:
        bench("attribute_sites")
    conda:
        "../../envs/basset.yaml"
    threads: 2
    resources:
        gpu=GPU,
        mem_mb=8000,
        runtime=240,
    params:
        device=DEVICE,
        lineages=LINEAGES,
        attribution=keys("attribution", "split", "sites", "n_shuffles", "batch_size"),
        seed=config["seed"],
    script:
        "../scripts/attribute_sites.py"


rule modisco_lineage:
    input:
        attributions=rules.attribute_sites.output.attributions,
    output:
        modisco=out("attribution", "modisco"),
    log:
        log_file("attribution", "modisco_{lineage}"),
    benchmark:
        bench("modisco_{lineage}")
    wildcard_constraints:
        lineage="|".join(re.escape(t) for t in LINEAGES) or "^$",
    conda:
        "../../envs/basset.yaml"
    resources:
        mem_mb=4000,
        runtime=120,
    params:
        lineage=lambda wc: wc.lineage,
        attribution=keys(
            "attribution",
            "window",
            "flank",
            "max_seqlets",
            "leiden_runs",
            "min_seqlets",
        ),
    script:
        "../scripts/modisco_lineage.py"


rule annotate_patterns:
    input:
        modisco=expand(out("attribution", "modisco"), lineage=list(LINEAGES)),
        truth=simulation_truth(),
    output:
        patterns=out("attribution", "patterns"),
        patterns_meme=out("attribution", "patterns_meme"),
        matches=out("attribution", "matches"),
        summary=out("attribution", "summary"),
        recovery=out("attribution", "recovery") if SIMULATE else [],
        spacing=out("attribution", "spacing") if SIMULATE else [],
        fig_patterns=report(
            out("attribution", "fig_patterns"),
            caption="../report/fig7a.rst",
            category="Figure 7: attributions",
            labels={"figure": "7A"},
        ),
        fig_patterns_pdf=pdf("attribution", "fig_patterns"),
        fig_spacing=(
            report(
                out("attribution", "fig_spacing"),
                caption="../report/fig7b.rst",
                category="Figure 7: attributions",
                labels={"figure": "7B"},
            )
            if SIMULATE
            else []
        ),
    log:
        log_file("attribution", "annotate_patterns"),
    benchmark:
        bench("annotate_patterns")
    conda:
        "../../envs/basset.yaml"
    params:
        lineages=LINEAGES,
        attribution=keys("attribution", "trim", "databases"),
        motifs=keys(
            "motifs", "release", "engine", "distance", "tomtom_q", "min_overlap"
        ),
    script:
        "../scripts/annotate_patterns.py"
