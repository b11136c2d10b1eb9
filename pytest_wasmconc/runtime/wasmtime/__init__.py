"""Wasmtime below wasmtime-py: the C-API bindings it does not wrap, and its trap signal handlers."""
