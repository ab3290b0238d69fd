#!/bin/sh
# The container's command. With a persistent volume at /cfy-persist, Cloudify Manager's state directories
# live there: the first start copies the image's data into the store, every start links the directories to
# their copies. Then it starts /sbin/init as Cloudify's own image does.
#
# What ONAP's version got wrong, and this one does not:
# - it marked the store populated before the copy ended, so a first start that died half-way left a store
#   that every later start took for complete; here the mark is written only after a full copy;
# - a new image's type files never reached a store populated by an older image; here the files this image
#   embeds replace their copies in the store at each start of a new container.
set -eu

STORE=${CFY_PERSIST:-/cfy-persist}
STATE_DIRS="/var/lib/pgsql/9.5/data /opt/manager/resources /opt/mgmtworker/env/plugins /opt/mgmtworker/work/deployments"
EMBEDDED="/opt/manager/resources/onapspec /opt/manager/resources/spec/cloudify/3.4"
COMPLETE="$STORE/.populated"

say() { echo "start-persistent: $*"; }

start_init() {
  exec /sbin/init --log-target=journal
}

# Copies a directory of the image to its place in the store, keeping owners, modes and links.
copy_to_store() {
  rm -rf "$STORE$1"
  mkdir -p "$(dirname "$STORE$1")"
  cp -a "$1" "$STORE$1"
}

populate() {
  say "populating $STORE from the image"
  for dir in $STATE_DIRS; do copy_to_store "$dir"; done
  sync
  touch "$COMPLETE"
  sync
}

refresh_embedded() {
  for dir in $EMBEDDED; do
    if [ -d "$dir" ]; then copy_to_store "$dir"; fi
  done
}

link_state() {
  for dir in $STATE_DIRS; do
    # A restart of this same container finds its links already in place.
    if [ -L "$dir" ]; then continue; fi
    rm -rf "$dir"
    ln -s "$STORE$dir" "$dir"
  done
}

if [ ! -d "$STORE" ]; then
  say "no persistent store at $STORE: the manager's state stays in this container"
  start_init
fi

if [ -e "$COMPLETE" ]; then
  say "using the populated store at $STORE"
  # Only a new container still has the image's own directories to refresh from.
  if [ ! -L /opt/manager/resources ]; then refresh_embedded; fi
else
  populate
fi
link_state
start_init
