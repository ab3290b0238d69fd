#!/bin/sh
# Before DCAE is undeployed (`kubectl exec <cm pod> -- /scripts/dcae-cleanup.sh`): runs the `stop` operation
# of every dcae.nodes.ContainerizedServiceComponent of every deployment, which removes the Kubernetes objects
# Cloudify made, without the full `uninstall` that would wait on services already gone. A failing deployment
# does not stop the others; each one is reported, and the exit status is the number that failed (at most 125).
. /scripts/cm-python.sh
if ! ids=$(cm_api deployments); then
  echo "dcae-cleanup: cannot list the deployments"
  exit 126
fi
set -f  # ids are words, never patterns
failed=0
count=0
for id in $ids; do
  count=$((count + 1))
  if cfy executions start -d "$id" -p 'type_names=[dcae.nodes.ContainerizedServiceComponent]' \
      -p operation=cloudify.interfaces.lifecycle.stop execute_operation; then
    echo "dcae-cleanup: $id: stopped"
  else
    echo "dcae-cleanup: $id: FAILED (cfy exited with $?)"
    failed=$((failed + 1))
  fi
done
echo "dcae-cleanup: $count deployments, $failed failed"
[ "$failed" -gt 125 ] && failed=125
exit "$failed"
