"""The shells: translate, call the library, present; no mathematics here.

The command line (:mod:`~descend.shells.cli`), the web playground (:mod:`~descend.shells.web`)
and the scikit-learn estimators (:mod:`~descend.shells.sklearn`, public as
:mod:`descend.estimators`).
"""

__all__: list[str] = []
