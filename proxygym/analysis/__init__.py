"""Measure how far the proxy and the true objective diverge as pressure grows.

Reads results (``proxygym.sweeps.results.load``) and tabular models; never trains.
"""
