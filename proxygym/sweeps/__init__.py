"""Sweeps of optimization pressure: config, axes, mitigations, cells, runner and the results store.

A sweep is one TOML file, validated and planned into cells by
:mod:`~proxygym.sweeps.config` with the help of two registries, the pressure
axes (:mod:`~proxygym.sweeps.axes`) and the mitigations
(:mod:`~proxygym.sweeps.mitigations`); none of these imports torch or
stable-baselines3. :mod:`~proxygym.sweeps.runner` runs the cells, locally or
on Ray, each through :mod:`~proxygym.sweeps.training`, and writes them to a
directory whose layout :mod:`~proxygym.sweeps.results` alone knows.
"""
