"""Figures, reports and tables of a sweep directory; reads results and analysis, never trains."""
