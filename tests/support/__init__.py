"""Test harness: throwaway databases, Redis prefixes, and real gateway servers."""
