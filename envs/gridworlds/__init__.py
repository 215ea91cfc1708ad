"""Faithful ports of the AI Safety Gridworlds (Leike et al. 2017) with hidden rewards."""
