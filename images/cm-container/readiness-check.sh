#!/bin/sh
# For an orchestrator's readiness probe: exits 0 only when this boot's set-import-rules.sh has put the rules
# in force (and restarted the REST service) and the manager answers with them.
if [ ! -e /var/run/onap-import-rules.done ]; then
  echo "readiness-check: the import resolver rules are not set yet"
  exit 1
fi
. /scripts/cm-python.sh
cm_api check
