"""User host functions: plain Python callables a guest imports, the worker they run on, sync objects."""
