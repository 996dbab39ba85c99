"""pytest plugin collecting per-test verdicts for results.json (entry point mmconform_report)."""
