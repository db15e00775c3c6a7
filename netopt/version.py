"""The version of netopt."""

__version__ = "0.1.0"
