"""Agents: their state machine, the roster that picks who gets the next call, screen-pops and scripts."""
