"""Download one URL to snakemake.output[0] with basset.download.fetch (checksum, gunzip, atomic rename)."""

import logging

from basset.download import fetch
from basset.errors import BassetError
from basset.logs import setup_logging


def main(snakemake):
    setup_logging(snakemake.log[0])
    try:
        fetch(
            snakemake.params.url,
            snakemake.output[0],
            md5=snakemake.params.md5,  # None or "" when unknown; fetch rejects a non-string (unquoted YAML number)
            gunzip=bool(snakemake.params.gunzip),
            progress=False,  # the log is a file: a progress bar would only fill it with carriage returns
        )
    except BassetError:
        logging.getLogger("basset.download").exception("download failed")
        raise


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 (injected by Snakemake)
