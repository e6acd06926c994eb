"""``make bench-month``: a simulated month of 50 firms under today's read policy and issue 14's, side by side."""
