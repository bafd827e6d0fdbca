"""Pure billing rules: no I/O, no frameworks. Money is integer cents."""
