"""Root conftest: intentionally thin. The suite's fixtures live in the `mmconform.plugin` pytest plugin."""
