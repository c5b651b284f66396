# Variants (Figure 5 of the paper; basset.variants): SNP accessibility difference (SAD) of every VCF record,
# and whether likely-causal GWAS SNPs (high PICS probability) change predicted accessibility more.


rule score_snps:
    input:
        model=rules.train_model.output.model,
        fasta=genome_fasta(),
        fai=fasta_index(),
        vcf=optional_input(INPUT["vcf"]),
    output:
        sad=f"results/{RUN}/variants/sad.tsv.gz",
        summary=f"results/{RUN}/variants/summary.tsv",
    log:
        f"logs/{RUN}/variants/score_snps.log",
    benchmark:
        f"results/{RUN}/benchmarks/score_snps.tsv"
    conda:
        "../../envs/basset.yaml"
    threads: 2
    resources:
        gpu=1 if config["train"]["device"] == "cuda" else 0,
        mem_mb=8000,
        runtime=360,
    params:
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
        summary=f"results/{RUN}/variants/pics_enrichment.tsv",
        snps=f"results/{RUN}/variants/pics_snps.tsv",
        fig5a=report(
            f"results/{RUN}/variants/fig5a_pics.png",
            caption="../report/fig5a.rst",
            category="Figure 5: variants",
            labels={"figure": "5A"},
        ),
        fig5b=report(
            f"results/{RUN}/variants/fig5b_top_snp.png",
            caption="../report/fig5b.rst",
            category="Figure 5: variants",
            labels={"figure": "5B"},
        ),
    log:
        f"logs/{RUN}/variants/pics_enrichment.log",
    conda:
        "../../envs/basset.yaml"
    threads: 2
    params:
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
