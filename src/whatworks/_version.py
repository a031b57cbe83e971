"""The whatworks version, in a module of its own so the store and the report can read it without importing the package root."""

__version__ = "0.1.0"
