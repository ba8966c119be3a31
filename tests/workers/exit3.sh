#!/bin/sh
# Fails the way most scripts fail: some output, then a non-zero status.
echo "starting"
echo "could not reach the thing" >&2
exit 3
