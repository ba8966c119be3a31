#!/bin/sh
# A worker that fails a third of the time, as real ones do.
cat >/dev/null
n=$(od -An -N1 -tu1 /dev/urandom)
if [ "$n" -lt 85 ]; then
	echo "upstream said 503 (attempt $HIVEJOB_ATTEMPT)" >&2
	exit 75
fi
echo "done"
