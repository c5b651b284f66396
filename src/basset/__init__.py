"""basset: learning the regulatory code of the accessible genome with deep CNNs.

A PyTorch re-implementation and extension of Basset (Kelley, Snoek & Rinn, Genome Research 2016).
Layers, lowest first (README.md, "Architecture"; tests/test_architecture.py keeps them so): base (``errors``,
``logs``, ``fileio``, ``tables``, ``layout``, ``device``, ``config``), engines (arrays in, arrays out: ``sequence``,
``peaks``, ``dataset``, ``models``, ``train``, ``ism``, ``sad``, ...), ``plots``, ``stages`` (files and figures, one
function per workflow rule), and the faces on top: ``cli`` and the workflow's scripts. Nothing here imports
Snakemake.
"""

__version__ = "0.1.0"
