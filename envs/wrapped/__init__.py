"""Gymnasium's own environments as proxy/true pairs (:class:`proxygym.proxy_reward.ProxyReward`)."""
