# Variants (Figure 5 of the paper; basset.stages.variants over basset.vcf, basset.sad and basset.pics): SNP
# accessibility difference (SAD) of every VCF record, and whether likely-causal GWAS SNPs (high PICS probability)
# change predicted accessibility more.


rule score_snps:
    input:
        model=rules.train_model.output.model,
        fasta=genome_fasta(),
        fai=fasta_index(),
        vcf=optional_input(INPUT["vcf"]),
    output:
        sad=out("variants", "sad"),
        summary=out("variants", "summary"),
    log:
        log_file("variants", "score_snps"),
    benchmark:
        bench("score_snps")
    conda:
        "../../envs/basset.yaml"
    threads: 2
    resources:
        gpu=GPU,
        mem_mb=8000,
        runtime=360,
    params:
        device=DEVICE,
        variants=keys("variants", "batch_size", "rc_average", "weights", "chunk_size"),
    script:
        "../scripts/score_snps.py"


rule pics_enrichment:
    input:
        sad=rules.score_snps.output.sad,
        pics=optional_input(INPUT["pics"]),
        model=rules.train_model.output.model,
        fasta=genome_fasta(),
        fai=fasta_index(),
    output:
        summary=out("variants", "pics_summary"),
        snps=out("variants", "pics_snps"),
        fig5a=report(
            out("variants", "fig5a"),
            caption="../report/fig5a.rst",
            category="Figure 5: variants",
            labels={"figure": "5A"},
        ),
        fig5b=report(
            out("variants", "fig5b"),
            caption="../report/fig5b.rst",
            category="Figure 5: variants",
            labels={"figure": "5B"},
        ),
    log:
        log_file("variants", "pics_enrichment"),
    conda:
        "../../envs/basset.yaml"
    threads: 2
    resources:
        gpu=GPU,
    params:
        device=DEVICE,
        variants=keys(
            "variants",
            "high_pics",
            "low_pics",
            "sad_threshold",
            "score",
            "plot_window",
            "rc_average",
        ),
    script:
        "../scripts/pics_enrichment.py"
