"""The problems: what is minimised, and everything known about it before descent starts.

Features, losses, models, objectives (plain, fast, Dask) and surfaces; curvature advice,
reference answers, preconditioning; and :mod:`~descend.problems.build`, the one place that
turns data and settings into a run's :class:`~descend.problems.build.Problem`.
Depends only on :mod:`descend.data`.
"""

__all__: list[str] = []
