# Basset's peak merging: midpoints, 600 bp windows, greedy merge, union of activities (basset.peaks).


rule merge_peaks:
    input:
        peaks=[peaks_path(n) for n in TARGETS],
        fai=fasta_index(),
        samples=config["samples"],
    output:
        sites=f"results/{RUN}/peaks/sites.bed",
        activity=f"results/{RUN}/peaks/activity.tsv.gz",
        targets=f"results/{RUN}/peaks/targets.tsv",
        summary=f"results/{RUN}/peaks/summary.tsv",
    log:
        f"logs/{RUN}/peaks/merge_peaks.log",
    benchmark:
        f"results/{RUN}/benchmarks/merge_peaks.tsv"
    conda:
        "../../envs/basset.yaml"
    resources:
        mem_mb=6000,
        runtime=30,
    params:
        peaks=config["peaks"],
    script:
        "../scripts/merge_peaks.py"
