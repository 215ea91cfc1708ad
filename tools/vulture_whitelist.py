# Names vulture reports as unused that are used where it cannot see: dataclass
# fields read only through dataclasses.asdict or by users of the API. (Framework
# hooks are matched by name in pyproject's [tool.vulture].) vulture's whitelist
# format: never imported or run, so ruff and mypy skip this file.
_.proxy_return_std  # agents/evaluation.py: EvalResult, read through asdict
_.true_return_std  # agents/evaluation.py: EvalResult, read through asdict
_.step_angle  # proxygym/planning/angle_stopping.py: PathPoint, a user-facing field
_.timestep  # agents/mitigations.py: TrueLabelCheck, a user-facing field
_.action_probabilities  # proxygym/planning/tabular.py: TabularPolicy, public API
