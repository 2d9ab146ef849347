"""Non-convex landscapes: local minima with few parameters, saddle points with many.

The lesson's last claim has two halves, and this package measures both:

1. **Few parameters → local minima trap descent.** :func:`multistart` runs descent from many
   random starts, converges each end point to a critical point and clusters them (each
   classified only if it is critical): on Himmelblau's function the starts split
   between four equally good minima, on Rastrigin's egg-box most end in a poor local minimum,
   and a one-hidden-unit network (:func:`tiny_network_objective`) ends in a worse minimum
   from some starts.
2. **Many parameters → critical points are mostly saddles.** :func:`saddle_study` finds
   critical points (∇L = 0) of networks of growing size on one small regression task and
   records, for each, the loss and the *index* α (the fraction of negative Hessian
   eigenvalues). Dauphin et al. (2014, "Identifying and attacking the saddle point problem in
   high-dimensional non-convex optimization", Fig. 1) report that α grows with the loss: the
   high-loss critical points are saddles with many ways down, the low-loss ones are (nearly)
   minima.
3. **The edge of stability.** :func:`edge_of_stability` trains a small tanh network by
   full-batch gradient descent at several rates with the sharpness tracked: it rises to 2/η
   and hovers there while the loss keeps falling (Cohen et al., ICLR 2021).
4. **The coin-flip argument.** If each of the n Hessian eigenvalues were positive with
   probability ½ independently, a critical point would be a minimum with probability 2⁻ⁿ.
   :func:`goe_positive_definite_fraction` measures it for random symmetric Gaussian (GOE)
   matrices, whose eigenvalues repel each other, making positive definiteness far rarer still.

For pictures, :func:`landscape_grid` evaluates the loss on a grid over two coordinates θ_i, θ_j
(the others held at a given θ: a *slice*, the whole surface when p = 2) and
:func:`slice_values` at given points of such a slice; :mod:`descend.pictures.plot` draws them.

The package keeps one concept per module: :mod:`.basins` (multi-start descent),
:mod:`.saddles` (the saddle-point study), :mod:`.edge` (the edge of stability), :mod:`.goe`
(the random-matrix check) and :mod:`.grid` (loss on slices of θ). Every public name is
re-exported here, so ``from descend.studies.landscape import multistart`` and
``ds.landscape.saddle_study`` work as before.
"""

from __future__ import annotations

from descend.problems.slices import landscape_grid, slice_values
from descend.studies.landscape.basins import (
    Basin,
    MultistartResult,
    multistart,
    tiny_network_objective,
)
from descend.studies.landscape.edge import EdgeRun, EdgeStudy, edge_of_stability
from descend.studies.landscape.goe import GOEResult, goe_positive_definite_fraction
from descend.studies.landscape.saddles import (
    SaddleObjective,
    SaddleStudy,
    find_critical_point,
    newton_mr,
    saddle_free_newton,
    saddle_study,
    saddle_task,
)

__all__ = [
    "Basin",
    "MultistartResult",
    "multistart",
    "tiny_network_objective",
    "saddle_task",
    "SaddleObjective",
    "find_critical_point",
    "newton_mr",
    "saddle_free_newton",
    "SaddleStudy",
    "saddle_study",
    "EdgeRun",
    "EdgeStudy",
    "edge_of_stability",
    "GOEResult",
    "goe_positive_definite_fraction",
    "landscape_grid",
    "slice_values",
]
