"""Sweeps of optimization pressure: config, axes, mitigations, cells, runner and the results store.

A sweep is one TOML file (:mod:`~proxygym.sweeps.config`, which imports
neither torch nor stable-baselines3), planned into cells
(:mod:`~proxygym.sweeps.training`), run locally or on Ray
(:mod:`~proxygym.sweeps.runner`) and written to a directory whose layout
:mod:`~proxygym.sweeps.results` alone knows.
"""
