"""Pictures of runs and studies: plots, animations, the HTML report (matplotlib, lazily).

``ds.plot``, ``ds.animate`` and ``ds.report`` load these on first use.
"""

__all__: list[str] = []
