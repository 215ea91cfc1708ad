"""The JAX training engine: environments compiled to JAX, PPO and SAC vmapped over seeds.

- :mod:`proxygym.jax.envs`: every environment with an exact model compiled to a
  functional (gymnax-style) environment, and hand-written ports of the
  simulators that need many seeds (TrafficMerge, Pandemic, TomatoWatering).
- :mod:`proxygym.jax.ppo`: PPO in JAX with stable-baselines3's semantics and
  the same hyperparameter tables, trained for many seeds in one compiled call;
  :mod:`proxygym.jax.ppo_config` and :mod:`proxygym.jax.sac_config` read those
  tables into run configurations without importing JAX (so sweep configs are
  checked when loaded).
- :mod:`proxygym.jax.export`: a trained JAX policy as a stable-baselines3 PPO
  model, so everything downstream sees an SB3 agent whatever trained it.
- :mod:`proxygym.jax.sac` and :mod:`proxygym.jax.export_sac`: SAC with SB3's
  semantics on continuous-action twins (:mod:`proxygym.jax.envs.pendulum`,
  :mod:`proxygym.jax.envs.glucose`), exported as SB3 SAC models.
- :mod:`proxygym.jax.support`: which environments the engine runs (no JAX import).

The sweep cells of a config with ``engine = "jax"`` are run by
:mod:`proxygym.sweeps.jax_engine`.

Installed with the ``jax`` extra (jax, gymnax, which brings flax and optax);
nothing outside this package and :mod:`proxygym.sweeps.jax_engine` imports JAX.

Importing this package gives JAX one CPU device per core
(``--xla_force_host_platform_device_count`` in ``XLA_FLAGS``, unless it is
set already or JAX has started), so that :func:`proxygym.jax.ppo.train`
(and :func:`proxygym.jax.sac.train`) runs groups of seeds on all cores side
by side: one device's many small operations keep only one core busy.
``PROXYGYM_JAX_DEVICES`` sets the number.
It also hides XLA's C++ log lines below fatal unless ``TF_CPP_MIN_LOG_LEVEL``
is set (:func:`proxygym.jax.cache.quiet_cache_loads` says why).
"""

from proxygym.jax.cache import quiet_cache_loads
from proxygym.jax.devices import use_all_cores

use_all_cores()
quiet_cache_loads()
