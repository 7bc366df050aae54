"""newapi's own HTTP/1.1 server: ASGI on the worker's event loop, no thread hand-offs."""
