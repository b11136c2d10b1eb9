"""Drivers: who runs next. Serial (fuel or epoch slices on one OS thread) and OS threads."""
