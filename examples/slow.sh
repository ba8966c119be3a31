#!/bin/sh
# A worker that takes a moment and says what it did on fd 3.
sleep 0.2
printf '{"outcome": "complete", "output": {"slept_ms": 200}}' >&3
