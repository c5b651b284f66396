"""basset: learning the regulatory code of the accessible genome with deep CNNs.

A PyTorch re-implementation and extension of Basset (Kelley, Snoek & Rinn, Genome Research 2016).
Modules, lowest first: ``errors``, ``logs``, ``sequence`` (encoding, FASTA), ``download``, ``peaks``
(Basset's peak merging), ``dataset`` (splits, HDF5, loaders), ``simulate`` (the embedded default
genome), then the CLI on top. Nothing here imports Snakemake.
"""

__version__ = "0.1.0"
