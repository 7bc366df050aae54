"""AIProxy Library channels (type 21): aiproxy.io's knowledge-base question API."""
