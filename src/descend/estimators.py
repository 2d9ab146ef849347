"""scikit-learn estimators (``from descend.estimators import GDRegressor``).

The public home of the estimators; they live with the other shells in
:mod:`descend.shells.sklearn` (needs the ``sklearn`` extra).
"""

from __future__ import annotations

from descend.shells.sklearn import GDClassifier, GDRegressor, OrthogonalPolynomialFeatures

__all__ = ["GDClassifier", "GDRegressor", "OrthogonalPolynomialFeatures"]
