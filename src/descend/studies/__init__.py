"""Studies built from many runs: comparisons, sweeps, certification, landscapes.

Loaded on first use (``ds.compare``, ``ds.lr_sweep``, ``ds.certify``, ``ds.landscape``).
"""

__all__: list[str] = []
