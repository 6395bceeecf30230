"""Predictive auto-dialer daemon: drives Asterisk over AMI, hands live answers to agents."""

__version__ = "0.1.0"
