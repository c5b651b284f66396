# Variants (Figure 5 of the paper; basset.stages.variants over basset.vcf, basset.sad, basset.sadfile and
# basset.pics): SNP accessibility difference (SAD) of every VCF record into sad.h5 (+ its summary TSV and the
# rejected or skipped records), and whether likely-causal GWAS SNPs (high PICS probability) change predicted
# accessibility more. variants.shards > 1 scores the VCF in that many jobs (blocks of chunk_size records in turn),
# joined in VCF order by gather_sad: the same files as one job.

SAD_SHARDS = int(config["variants"]["shards"])


if SAD_SHARDS == 1:

    rule score_snps:
        input:
            model=rules.train_model.output.model,
            fasta=genome_fasta(),
            fai=fasta_index(),
            vcf=optional_input(INPUT["vcf"]),
        output:
            sad=out("variants", "sad"),
            table=out("variants", "table"),
            rejects=out("variants", "rejects"),
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
            variants=keys(
                "variants",
                "batch_size",
                "rc_average",
                "weights",
                "chunk_size",
                "strict",
                "sad_dtype",
                "bf16",
            )
            | {"weights": WEIGHTS},
        script:
            "../scripts/score_snps.py"

else:

    rule score_snps_shard:
        input:
            model=rules.train_model.output.model,
            fasta=genome_fasta(),
            fai=fasta_index(),
            vcf=optional_input(INPUT["vcf"]),
        output:
            sad=temp(out("variants", "shard_sad")),
            rejects=temp(out("variants", "shard_rejects")),
            summary=temp(out("variants", "shard_summary")),
        log:
            log_file("variants", "score_snps_{shard}"),
        benchmark:
            bench("score_snps_{shard}")
        conda:
            "../../envs/basset.yaml"
        threads: 2
        resources:
            gpu=GPU,
            mem_mb=8000,
            runtime=360,
        params:
            device=DEVICE,
            variants=keys(
                "variants",
                "batch_size",
                "rc_average",
                "weights",
                "chunk_size",
                "strict",
                "sad_dtype",
                "bf16",
            )
            | {"weights": WEIGHTS},
            shard=lambda wc: (int(wc.shard), SAD_SHARDS),
        script:
            "../scripts/score_snps.py"

    rule gather_sad:
        input:
            sad=expand(out("variants", "shard_sad"), shard=range(SAD_SHARDS)),
            rejects=expand(out("variants", "shard_rejects"), shard=range(SAD_SHARDS)),
            summary=expand(out("variants", "shard_summary"), shard=range(SAD_SHARDS)),
            fasta=genome_fasta(),
        output:
            sad=out("variants", "sad"),
            table=out("variants", "table"),
            rejects=out("variants", "rejects"),
            summary=out("variants", "summary"),
        log:
            log_file("variants", "gather_sad"),
        conda:
            "../../envs/basset.yaml"
        resources:
            mem_mb=4000,
        script:
            "../scripts/gather_sad.py"


rule sad_tsv:
    input:
        sad=out("variants", "sad"),
    output:
        table=out("variants", "targets_tsv"),
    log:
        log_file("variants", "sad_tsv"),
    conda:
        "../../envs/basset.yaml"
    script:
        "../scripts/sad_tsv.py"


rule pics_enrichment:
    input:
        sad=out("variants", "sad"),
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
            "pics_coding",
            "pics_bootstrap",
            "plot_window",
            "rc_average",
        ),
    script:
        "../scripts/pics_enrichment.py"


# dataset.mode deepsea: DeepSEA's reading of the PICS-like SNPs, the top likely causal SNP's Delta across the
# features grouped by assay and the strong/moderate/weak classes (basset.stages.variants.delta_profile).
rule delta_profile:
    input:
        sad=out("variants", "sad"),
        pics=optional_input(INPUT["pics"]),
        samples=config["samples"],
    output:
        profile=out("variants", "delta_profile"),
        summary=out("variants", "delta_summary"),
        fig_delta=report(
            out("variants", "fig_delta"),
            caption="../report/fig_delta.rst",
            category="Figure 5: variants",
            labels={"figure": "Delta by assay"},
        ),
        fig_delta_pdf=pdf("variants", "fig_delta"),
    log:
        log_file("variants", "delta_profile"),
    conda:
        "../../envs/basset.yaml"
    params:
        variants=keys("variants", "high_pics", "low_pics", "pics_coding"),
    script:
        "../scripts/delta_profile.py"
