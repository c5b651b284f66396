# The embedded default: a simulated genome with planted JASPAR motifs, its peaks, genes, conservation,
# variants and the truth that later stages are graded against (basset.simulate). Every output lies under
# simulate.outdir with a name derived there (basset.layout.simulated_paths), never at a path from the
# config or the sample sheet.


if SIMULATE:

    rule simulate_genome:
        input:
            samples=config["samples"],
        output:
            **{
                key: path
                for key, path in simulated_paths(SIM, SAMPLES).items()
                if key not in ("peaks", "coverage")
            },
            peaks=list(INPUT["peaks"].values()),
            coverage=list(INPUT.get("coverage", {}).values()),
        log:
            log_file("simulate", "simulate_genome"),
        benchmark:
            bench("simulate_genome")
        conda:
            "../../envs/basset.yaml"
        resources:
            mem_mb=4000,
            runtime=30,
        params:
            simulate=config["simulate"],
            seed=config["seed"],
        script:
            "../scripts/simulate_genome.py"
