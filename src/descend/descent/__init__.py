"""The descent: update rules, schedules, the rate resolver, the loop and its results.

:mod:`~descend.descent.rates` resolves every learning-rate setting once;
:mod:`~descend.descent.loop` is the one loop body; :func:`~descend.descent.minimize.minimize`,
:func:`~descend.descent.fit.fit` and :class:`~descend.descent.session.Session` drive it.
Depends on :mod:`descend.problems` and :mod:`descend.data`.
"""

__all__: list[str] = []
