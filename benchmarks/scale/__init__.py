"""`make bench-scale`: the status loop, WAHA events and concurrent creates at 2,000 sessions (issue 15)."""
