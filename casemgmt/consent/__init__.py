"""Informed consent: HTCDS's seven points, purposes (sharing, return), a child's assent, withdrawal."""
