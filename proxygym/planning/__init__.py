"""Exact planning on environments with a model: solver, KL, stopping rules, selection.

Everything here works on :class:`proxygym.model.TabularModel` (or on pools of
scored trajectories) and never trains: the tabular solver and its KL
(:mod:`~proxygym.planning.tabular`), angle-based stopping
(:mod:`~proxygym.planning.angle_stopping`), quantilizers
(:mod:`~proxygym.planning.quantilizer`), best-of-n selection
(:mod:`~proxygym.planning.best_of_n`) and hackability
(:mod:`~proxygym.planning.hackability`).
"""
