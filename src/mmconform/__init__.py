"""mmconform: conformance tests for the Mattermost REST API v4 file and licence endpoints."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("mmconform")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
