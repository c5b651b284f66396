# Downloads for the real-data configuration: named resources (genome, annotation, motifs, ...) and the
# peak files of samples whose `peaks` column is a URL. Local rules: they need the internet, not a node.
# MD5s are checked by basset.download.fetch on the bytes as downloaded (before any gunzip), which
# ensure(md5=...) cannot express; ensure(non_empty=True) still guards against empty files.


localrules:
    download_resource,
    download_peaks,


rule download_resource:
    output:
        file=ensure("resources/downloads/{resource}", non_empty=True),
    log:
        "logs/download/{resource}.log",
    wildcard_constraints:
        # only the names listed under config["downloads"]; "(?!)" never matches when there are none
        resource="|".join(re.escape(k) for k in config.get("downloads") or {}) or "(?!)",
    retries: 3
    conda:
        "../../envs/basset.yaml"
    params:
        url=lambda wc: config["downloads"][wc.resource]["url"],
        md5=lambda wc: config["downloads"][wc.resource].get("md5"),
        gunzip=lambda wc: config["downloads"][wc.resource].get("gunzip", False),
    script:
        "../scripts/download_file.py"


rule download_peaks:
    output:
        # the URL's own file name: its bytes are kept as the server sent them (plain or gzip; readers decide
        # by content)
        file=ensure("resources/peaks/{sample}/{filename}", non_empty=True),
    log:
        "logs/download/peaks/{sample}/{filename}.log",
    wildcard_constraints:
        # only samples whose peaks are a URL; local peak files are read where they are
        sample="|".join(
            re.escape(s) for s in SAMPLES.index[SAMPLES[SAMPLE_COLUMN].map(is_url)]
        )
        or "(?!)",
        filename="[^/]+",
    retries: 3
    conda:
        "../../envs/basset.yaml"
    params:
        url=lambda wc: SAMPLES.loc[wc.sample, SAMPLE_COLUMN],
        md5=lambda wc: SAMPLES.loc[wc.sample, "md5"] or None,
        gunzip=False,
    script:
        "../scripts/download_file.py"


if INPUT["vcf"] == PICS_VCF:

    # the PICS table has no alleles: take them, once, from a public sites VCF streamed through this rule
    rule select_pics_variants:
        input:
            pics=INPUT["pics"],
        output:
            vcf=ensure(PICS_VCF, non_empty=True),
            summary="resources/variants/pics_snps.summary.tsv",
        log:
            "logs/download/select_pics_variants.log",
        retries: 3
        localrule: True
        conda:
            "../../envs/basset.yaml"
        params:
            source=config["variants"]["allele_source"],
        script:
            "../scripts/select_pics_variants.py"


if not SIMULATE:

    # the workflow writes only under resources/ and results/: the user's FASTA is linked, and indexed, here
    rule index_genome:
        input:
            fasta=INPUT["fasta"],
        output:
            fasta=genome_fasta(),
            fai=fasta_index(),
        log:
            "logs/download/index_genome.log",
        conda:
            "../../envs/basset.yaml"
        script:
            "../scripts/index_genome.py"
