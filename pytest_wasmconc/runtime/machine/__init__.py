"""One execution of a guest: its threads and their stores, shared memory, virtual clock, built-in imports."""
