# Sourced by the scripts of this image: the Python to run cm-api.py with. The manager's own virtualenv when
# it is there (Cloudify 4.4: /opt/manager/env/bin/python, 2.7), else the base's /usr/bin/python (CentOS 7, 2.7).
CM_PYTHON=/usr/bin/python
if [ -x /opt/manager/env/bin/python ]; then CM_PYTHON=/opt/manager/env/bin/python; fi
cm_api() { "$CM_PYTHON" /scripts/cm-api.py "$@"; }
