"""The engine: the daemon's pure core. Typed events and `now` in, commands out; no I/O."""
