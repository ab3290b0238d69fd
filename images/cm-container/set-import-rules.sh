#!/bin/sh
# Run from rc.local at every boot, in the background (`&`), after setup-secret.sh: it waits for the manager,
# then makes the import resolver rules of /etc/cloudify/config.yaml the ones the REST service uses (see
# cm-api.py). A boot that finds them in force changes nothing. A failure is logged and leaves the container
# running; /scripts/readiness-check.sh keeps failing, so an orchestrator sees it.
DONE=/var/run/onap-import-rules.done
rm -f "$DONE"
. /scripts/cm-python.sh

run() {
  echo "set-import-rules: started"
  if cm_api apply-rules; then
    touch "$DONE"
    echo "set-import-rules: done"
  else
    echo "set-import-rules: FAILED: the manager resolves imports with its old rules (the type files are fetched from the network)"
  fi
}

# Under systemd, rc.local's output goes to the journal; `docker logs` shows PID 1's stdout. Write to both,
# once when they are the same (an init that is a plain process).
if [ -w /proc/1/fd/1 ] && ! [ /proc/self/fd/1 -ef /proc/1/fd/1 ]; then
  run 2>&1 | tee -a /proc/1/fd/1
else
  run 2>&1
fi
