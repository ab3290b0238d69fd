#!/bin/sh
# Run from rc.local, after /sbin/init. Starting /sbin/init hides Kubernetes' service-account mount, so the
# credentials are also mounted at /secret: link them back where the Kubernetes plugin looks for them.
# Only when the service-account directory is missing; a second run finds the link and does nothing.
SERVICE_ACCOUNT=/var/run/secrets/kubernetes.io/serviceaccount

if [ -e "$SERVICE_ACCOUNT" ] || [ -L "$SERVICE_ACCOUNT" ]; then
  exit 0
fi
if [ ! -d /secret ]; then
  echo "setup-secret: no $SERVICE_ACCOUNT and no /secret to link it to"
  exit 0
fi
mkdir -p "$(dirname "$SERVICE_ACCOUNT")"
ln -s /secret "$SERVICE_ACCOUNT"
echo "setup-secret: linked $SERVICE_ACCOUNT to /secret"
