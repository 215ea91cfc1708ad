# Names vulture reports as unused that are used where it cannot see: dataclass
# fields read only through dataclasses.asdict or by users of the API. (Framework
# hooks are matched by name in pyproject's [tool.vulture].) vulture's whitelist
# format: never imported or run, so ruff and mypy skip this file.
_.proxy_return_std  # agents/evaluation.py: EvalResult, read through asdict
_.true_return_std  # agents/evaluation.py: EvalResult, read through asdict
_.step_angle  # proxygym/planning/angle_stopping.py: PathPoint, a user-facing field
_.timestep  # agents/mitigations.py: TrueLabelCheck, a user-facing field
_.action_probabilities  # proxygym/planning/tabular.py: TabularPolicy, public API
_._current_progress_remaining  # tests/jax/test_ppo.py: SB3's attribute, read by its train()
_.step_async  # tests/jax/test_ppo.py: a VecEnv's abstract methods, called by SB3's VecNormalize
_.get_attr  # likewise
_.set_attr  # likewise
_.env_method  # likewise
_.env_is_wrapped  # likewise
no_endless_loops  # tests/jax/test_traffic_merge_jax.py: a pytest fixture requested by name
_.ate  # envs/simulators/glucose.py: GlucoseState, fields of the hashable state, public API
_.cgm  # likewise
_.CR  # envs/simulators/glucose_patients.py: PatientParameters, the questionnaire's published data
_.CF  # likewise
