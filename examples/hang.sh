#!/bin/sh
# A worker that never ends: its kind's timeout does.
echo "waiting for something that will not come"
exec sleep 3600
