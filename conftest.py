"""Root conftest: intentionally thin; the suite's fixtures live in the `mmconform.plugin` plugin."""
