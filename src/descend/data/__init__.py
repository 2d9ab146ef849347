"""The data: observations in, checked arrays out.

Reading and validating tables (:mod:`~descend.data.tables`), the embedded NIST datasets
(:mod:`~descend.data.datasets`), synthetic data (:mod:`~descend.data.synthetic`), the mini-batch
samplers (:mod:`~descend.data.samplers`) and the exact JSON encodings
(:mod:`~descend.data.encoding`). Depends on nothing else in descend.
"""

__all__: list[str] = []
