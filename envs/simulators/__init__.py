"""Simulators after Pan, Bhatia & Steinhardt (2022): traffic merging and a pandemic."""
