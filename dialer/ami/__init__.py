"""The AMI edge: wire framing, typed events, and the panoramisk-based client."""
