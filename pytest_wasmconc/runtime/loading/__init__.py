"""Loading a guest: bytes read and checked, instrumented, compiled by an engine, cached on disk."""
