"""Reports of a run: results.json, certificate, verification and run-versus-run diff."""
