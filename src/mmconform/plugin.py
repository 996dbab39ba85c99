"""The mmconform pytest plugin (registered through the `pytest11` entry point).

This is the only module of the suite that imports pytest at import time.
"""
