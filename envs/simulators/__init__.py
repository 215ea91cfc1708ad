"""Simulators after Pan, Bhatia & Steinhardt (2022): traffic merging, a pandemic, a glucose pump."""
