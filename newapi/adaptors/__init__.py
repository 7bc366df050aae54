"""Adaptors: one package per upstream API family (schemas, request, response, stream)."""
