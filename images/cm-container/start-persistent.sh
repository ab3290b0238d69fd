#!/bin/sh
# The container's command. With a persistent volume at /cfy-persist, Cloudify Manager's state directories
# live there (at the same paths under the store): a first start copies the image's data into an empty store,
# every start links the directories to their copies. Then it starts /sbin/init as Cloudify's own image does.
#
# A store is populated when it holds any of the state directories, with or without our marker: ONAP's own
# image copied them and marked nothing, and taking such a store for empty would replace its database with
# this image's fresh one. Only an empty store (lost+found aside), or one whose copy this script began and did
# not finish (its "copy in progress" mark is still there), is (re)populated. A store holding something else is
# left alone, and the container stops with a message rather than run without persistence.
set -eu

STORE=${CFY_PERSIST:-/cfy-persist}
STATE_DIRS="/var/lib/pgsql/9.5/data /opt/manager/resources /opt/mgmtworker/env/plugins /opt/mgmtworker/work/deployments"
EMBEDDED="/opt/manager/resources/onapspec /opt/manager/resources/spec/cloudify/3.4"
IN_PROGRESS="$STORE/.copy-in-progress"
COMPLETE="$STORE/.populated"

say() { echo "start-persistent: $*"; }

start_init() {
  # As Cloudify's own CMD: systemd logs to the journal, and fd 3 lets boot output reach `docker logs`.
  exec /sbin/init --log-target=journal 3>&1
}

# Copies a directory of the image to its place in the store, keeping owners, modes and links.
copy_to_store() {
  rm -rf "$STORE$1"
  mkdir -p "$(dirname "$STORE$1")"
  cp -a "$1" "$STORE$1"
}

store_state() {
  if [ -e "$IN_PROGRESS" ]; then echo interrupted; return; fi
  if [ -e "$COMPLETE" ]; then echo populated; return; fi
  for dir in $STATE_DIRS; do
    if [ -e "$STORE$dir" ] || [ -L "$STORE$dir" ]; then echo populated; return; fi
  done
  for entry in "$STORE"/* "$STORE"/.[!.]* "$STORE"/..?*; do
    if [ ! -e "$entry" ] && [ ! -L "$entry" ]; then continue; fi   # an unmatched pattern
    if [ "$entry" = "$STORE/lost+found" ]; then continue; fi
    echo foreign; return
  done
  echo empty
}

populate() {
  touch "$IN_PROGRESS"
  sync
  for dir in $STATE_DIRS; do copy_to_store "$dir"; done
  sync
  touch "$COMPLETE"
  rm -f "$IN_PROGRESS"
  sync
}

# A populated store lacking a state directory gets the image's; nothing it has is replaced.
complete_missing() {
  for dir in $STATE_DIRS; do
    if [ ! -e "$STORE$dir" ] && [ ! -L "$STORE$dir" ]; then
      say "the store has no $dir: copying the image's"
      copy_to_store "$dir"
    fi
  done
}

# The type files this image embeds, copied over the store's: an upgraded image's files are what the manager
# reads. Files the store has and the image lacks (an older image's versions, a user's) stay.
refresh_embedded() {
  for dir in $EMBEDDED; do
    if [ -d "$dir" ]; then
      mkdir -p "$STORE$dir"
      cp -a "$dir/." "$STORE$dir/"
    fi
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

case $(store_state) in
  empty)
    say "populating $STORE from the image"
    populate ;;
  interrupted)
    say "the copy into $STORE did not finish: populating it again"
    populate ;;
  populated)
    say "using the populated store at $STORE"
    complete_missing
    # Only a new container still has the image's own directories to refresh from.
    if [ ! -L /opt/manager/resources ]; then refresh_embedded; fi ;;
  *)
    say "$STORE holds files but none of Cloudify Manager's state directories ($STATE_DIRS): not touching it"
    say "mount the manager's store, or an empty volume, at $STORE"
    exit 1 ;;
esac
link_state
start_init
