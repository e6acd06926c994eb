"""`sam local invoke` for real: each function in a Lambda-like x86_64 container against `make demo-up`'s stack.

setup.sh        make sam-local-setup: docker.io, dockerd, the iptables rule, the local image (root)
template.py     the generated x86_64 copy of template.yaml, declaring what the local stack sets
environment.py  the file a running demo-up writes: where its stack is, and the functions' variables
bridge.py       the Docker bridge's address, and the forwarders that expose the stack there only
invoke.py       make sam-local: sam build of the copy, then sam local invoke with the stack's variables
check.py        make test-sam-local: every function once in a container, each result asserted
"""
