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


# dataset.mode deepsea: DeepSEA's bins instead (basset.stages.peaks.bin_peaks over basset.bins), the same four kinds
# of file under peaks/bins/; the rules after it read the sites of PEAKS, the rule of this run's mode.
rule bin_peaks:
    input:
        peaks=[peaks_path(n) for n in TARGETS],
        fai=fasta_index(),
        samples=config["samples"],
    output:
        sites=out("peaks", "bin_sites"),
        activity=out("peaks", "bin_activity"),
        targets=out("peaks", "bin_targets"),
        summary=out("peaks", "bin_summary"),
    log:
        log_file("peaks", "bin_peaks"),
    benchmark:
        bench("bin_peaks")
    conda:
        "../../envs/basset.yaml"
    resources:
        mem_mb=6000,
        runtime=30,
    params:
        peaks_config=keys("peaks", "drop_chry", "drop_noncanonical"),
        dataset=keys("dataset", "bin", "bin_fraction", "select"),
        length=site_length(config),
    script:
        "../scripts/bin_peaks.py"


PEAKS = rules.bin_peaks if config["dataset"]["mode"] == "deepsea" else rules.merge_peaks
