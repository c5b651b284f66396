"""Rule merge_peaks: merge every sample's peaks into fixed-width sites with a 0/1 activity per target."""

from basset.logs import setup_logging
from basset.peaks import merge_peak_files, write_merge
from basset.samples import read_sample_sheet
from basset.sequence import read_fai


def main(snakemake):
    setup_logging(snakemake.log[0])
    opts = snakemake.params.peaks
    samples = read_sample_sheet(snakemake.input.samples)
    result = merge_peak_files(
        samples,
        read_fai(snakemake.input.fai),
        feature_size=opts["feature_size"],
        merge_overlap=opts["merge_overlap"],
        midpoint=opts["midpoint"],
        drop_chry=opts["drop_chry"],
        drop_noncanonical=opts["drop_noncanonical"],
        paths=list(snakemake.input.peaks),
        progress=False,
    )
    out = snakemake.output
    write_merge(result, out.sites, out.activity, out.targets, out.summary, samples)


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 (injected by Snakemake)
