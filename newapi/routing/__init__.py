"""Channel selection, retries, model mapping and channel health."""
