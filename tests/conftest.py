"""Suite-wide settings: property tests never fail on wall-clock deadlines (CI shares two
cores with other jobs) and leave no example database in the checkout."""

from __future__ import annotations

from hypothesis import HealthCheck, settings

settings.register_profile(
    "cf-aig", deadline=None, database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("cf-aig")
