"""The simulators of the two APIs the service calls, QBO and Clio, on one loopback HTTP core."""
