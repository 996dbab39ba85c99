"""Reports of a run: results.json, certificate, verification and run-versus-run diff."""

from mmconform.report.finalize import finalize_run
from mmconform.report.summary import RunSummary

__all__ = ["RunSummary", "finalize_run"]
