"""Agent construction, hyperparameters and mitigations (stable-baselines3 based).

Training on the proxy with the true objective logged beside it arrives with the
sweeps work; today the oracle's reward swap lives in
:class:`proxygym.wrappers.TrueObjective`.
"""
