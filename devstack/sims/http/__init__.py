"""The loopback HTTP core both simulators answer through: the server and its request object (``server``),
injected faults (``faults``), rate limits (``limits``) and request counters (``traffic``)."""
