"""Reports: tidy result rows, figures, and self-contained HTML pages.

Benchmarks produce rows ``{dataset, model, seed, metric, value}``; everything here is
built from rows and saved model folders alone, so a report can be rebuilt without
retraining.
"""

from .html import Report
from .results import read_results, summarise, write_results

__all__ = ["Report", "write_results", "read_results", "summarise"]
