# The embedded default: a simulated genome with planted JASPAR motifs, its peaks, genes, conservation,
# variants and the truth that later stages are graded against (basset.simulate).

SIM_FILES = {
    "fasta": "genome.fa",
    "fai": "genome.fa.fai",
    "chrom_sizes": "chrom.sizes",
    "genes": "genes.gtf",
    "phylop": "phylop.bw",
    "vcf": "snps.vcf.gz",
    "pics": "pics.tsv",
    "motif_instances": "truth/motif_instances.tsv",
    "sites": "truth/sites.tsv",
    "cell_activity": "truth/cell_factor_activity.tsv",
    "snps": "truth/snps.tsv",
    "summary": "truth/simulation.json",
}


if SIMULATE:

    rule simulate_genome:
        input:
            samples=config["samples"],
        output:
            **{key: f"{SIM}/{path}" for key, path in SIM_FILES.items()},
            peaks=simulated_peak_files(),
        log:
            f"logs/{RUN}/simulate/simulate_genome.log",
        benchmark:
            f"results/{RUN}/benchmarks/simulate_genome.tsv"
        conda:
            "../../envs/basset.yaml"
        resources:
            mem_mb=4000,
            runtime=30,
        params:
            simulate=config["simulate"],
            # the directory of the outputs: truth/simulation.json is two levels down
            outdir=lambda wildcards, output: str(Path(output.summary).parents[1]),
            seed=config["seed"],
        script:
            "../scripts/simulate_genome.py"
