# Downloads for the real-data configuration: named resources (genome, annotation, motifs, ...) and the
# peak files of samples whose `peaks` column is a URL. Local rules: they need the internet, not a node.
# MD5s are checked by basset.download.fetch on the bytes as downloaded (before any gunzip), which
# ensure(md5=...) cannot express; ensure(non_empty=True) still guards against empty files.


localrules:
    download_resource,
    download_peaks,


rule download_resource:
    output:
        ensure("resources/downloads/{resource}", non_empty=True),
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
        ensure("resources/peaks/{sample}.bed.gz", non_empty=True),
    log:
        "logs/download/peaks_{sample}.log",
    wildcard_constraints:
        # only samples whose peaks are a URL; local peak files are read where they are
        sample="|".join(
            re.escape(s) for s in SAMPLES.index[SAMPLES["peaks"].map(is_url)]
        )
        or "(?!)",
    retries: 3
    conda:
        "../../envs/basset.yaml"
    params:
        url=lambda wc: SAMPLES.loc[wc.sample, "peaks"],
        md5=lambda wc: SAMPLES.loc[wc.sample, "md5"] or None,
        gunzip=False,
    script:
        "../scripts/download_file.py"


if not config["simulate"]["enabled"]:

    rule index_genome:
        input:
            fasta=config["genome"]["fasta"],
        output:
            fai=f"{config['genome']['fasta']}.fai",
        log:
            "logs/download/index_genome.log",
        conda:
            "../../envs/basset.yaml"
        script:
            "../scripts/index_genome.py"
