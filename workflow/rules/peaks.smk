# Basset's peak merging: midpoints, fixed-width windows, greedy merge, union of activities (basset.stages.peaks over basset.bed and basset.peaks).


rule merge_peaks:
    input:
        peaks=[peaks_path(n) for n in TARGETS],
        fai=fasta_index(),
        samples=config["samples"],
    output:
        sites=out("peaks", "sites"),
        activity=out("peaks", "activity"),
        targets=out("peaks", "targets"),
        summary=out("peaks", "summary"),
    log:
        log_file("peaks", "merge_peaks"),
    benchmark:
        bench("merge_peaks")
    conda:
        "../../envs/basset.yaml"
    resources:
        mem_mb=6000,
        runtime=30,
    params:
        peaks_config=config["peaks"],
    script:
        "../scripts/merge_peaks.py"
