"""Suite-wide settings: hypothesis runs derandomised (the same examples every run) and without timing
health checks, which a loaded 2-core CI machine trips on input generation alone."""

from __future__ import annotations

from hypothesis import HealthCheck, settings

settings.register_profile(
    "dialer",
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
)
settings.load_profile("dialer")
