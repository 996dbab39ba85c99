"""How the suite reaches a target: HTTP client, probe, world provisioning, cleanup ledger.

Everything here talks to the target only over HTTP (httpx), so the same code drives the embedded
reference server and a real Mattermost. Nothing in this package imports pytest.
"""
