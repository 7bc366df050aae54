"""newapi: an LLM API gateway compatible with New API, built for heavy load."""

__version__ = "0.1.0"
