# The manager's REST API for the scripts of this image, with nothing but the standard library: it runs under
# the base's /usr/bin/python (2.7) and the manager's own /opt/manager/env/bin/python, and under Python 3.
#
#   cm-api.py rules           print the import resolver rules of /etc/cloudify/config.yaml, as JSON
#   cm-api.py apply-rules     wait for the manager, put those rules first in its provider context, restart
#                             the REST service when that changed anything (exit 0), or fail (exit 1)
#   cm-api.py check           exit 0 when the manager answers and its provider context starts with the rules
#   cm-api.py deployments     print the id of every deployment, one a line
#
# Why the provider context: Cloudify 4.4's REST service builds its import resolver from the provider context
# kept in its database, written once when Cloudify made the image; it never reads config.yaml again. The build
# edits config.yaml (the declaration); this makes the same rules take effect, so no second copy can drift.
#
# The password is read from config.yaml and goes only into the Authorization header: never printed.
from __future__ import print_function

import base64
import json
import os
import re
import subprocess
import sys
import time

try:
    from urllib.request import Request, urlopen
    from urllib.error import HTTPError, URLError
except ImportError:  # Python 2
    from urllib2 import Request, urlopen, HTTPError, URLError

CONFIG = os.environ.get('CM_CONFIG', '/etc/cloudify/config.yaml')
API = os.environ.get('CM_API', 'http://127.0.0.1').rstrip('/')
TENANT = 'default_tenant'
RULES_AT = ('provider_context', 'import_resolver', 'parameters', 'rules')
PASSWORD_AT = ('manager', 'security', 'admin_password')
USER_AT = ('manager', 'security', 'admin_username')
WAIT_SECONDS = int(os.environ.get('CM_WAIT_SECONDS', '1800'))
WAIT_INTERVAL = int(os.environ.get('CM_WAIT_INTERVAL', '3'))


def say(message):
    print('cm-api: %s' % message)
    sys.stdout.flush()


# --- config.yaml --------------------------------------------------------------------------------------------
# Cloudify's installer dumps config.yaml with PyYAML's block style and leaf maps in flow style
# (`- {http://www.getcloudify.org/spec: file:///opt/manager/resources/spec}`), and build-images puts its rules
# in as `- {'key': 'value'}`. The base's /usr/bin/python has no YAML library, so this reads that subset:
# block mappings by indentation, a block sequence of one-line flow maps, plain or quoted scalars.

def _scalar(text):
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] == "'":
        return text[1:-1].replace("''", "'")
    if len(text) >= 2 and text[0] == text[-1] == '"':
        return json.loads(text)
    return re.sub(r'\s+#.*$', '', text)


def _flow_map(text, where):
    """`{k: v, 'k2': "v2"}` as a list of (key, value) pairs, in order."""
    text = text.strip()
    if not (text.startswith('{') and text.endswith('}')):
        raise ValueError('%s: expected a one-line map {key: value}, found %s' % (where, text))
    body, pairs, i = text[1:-1], [], 0

    def token(i, stops):
        while i < len(body) and body[i] == ' ':
            i += 1
        if i < len(body) and body[i] in '\'"':
            quote, j = body[i], i + 1
            while j < len(body):
                if body[j] == quote and quote == "'" and body[j + 1:j + 2] == "'":
                    j += 2
                    continue
                if body[j] == '\\' and quote == '"':
                    j += 2
                    continue
                if body[j] == quote:
                    break
                j += 1
            return _scalar(body[i:j + 1]), j + 1
        j = i
        while j < len(body) and not any(body.startswith(s, j) for s in stops):
            j += 1
        return body[i:j].strip(), j

    while i < len(body):
        key, i = token(i, (': ',))
        if not body.startswith(':', i):
            raise ValueError('%s: no value for %s' % (where, key))
        value, i = token(i + 1, (',',))
        pairs.append((key, value))
        while i < len(body) and body[i] in ' ,':
            i += 1
    return pairs


def read_config(path=CONFIG):
    with open(path) as f:
        return f.read().split('\n')


def _walk(lines, at):
    """The line index and indentation of the key at `at`, and its inline value."""
    stack = []
    for n, line in enumerate(lines):
        m = re.match(r'^( *)([^ #\-][^:]*):(?: +(.*))?$', line)
        if not m or line.lstrip().startswith('#'):
            continue
        indent = len(m.group(1))
        while stack and stack[-1][0] >= indent:
            stack.pop()
        stack.append((indent, _scalar(m.group(2))))
        if tuple(k for _, k in stack) == at:
            return n, indent, (m.group(3) or '').strip()
    return None


def config_value(lines, at):
    found = _walk(lines, at)
    return None if found is None else _scalar(found[2])


def config_rules(lines):
    found = _walk(lines, RULES_AT)
    if found is None:
        raise ValueError('%s has no %s' % (CONFIG, '.'.join(RULES_AT)))
    start, indent, inline = found
    if inline:
        raise ValueError('%s: %s is not a block list' % (CONFIG, '.'.join(RULES_AT)))
    rules = []
    for n in range(start + 1, len(lines)):
        line = lines[n]
        stripped = line.strip()
        if not stripped or stripped.startswith('#'):
            continue
        here = len(line) - len(line.lstrip(' '))
        if not stripped.startswith('- ') or here < indent:
            break
        item = re.sub(r'\}\s+#.*$', '}', stripped[2:])  # a comment after the map
        rules.append(dict(_flow_map(item, '%s line %d' % (CONFIG, n + 1))))
    return rules


# --- the REST API -------------------------------------------------------------------------------------------

class Manager(object):
    def __init__(self, lines):
        user = config_value(lines, USER_AT) or 'admin'
        password = config_value(lines, PASSWORD_AT)
        if password is None:
            raise ValueError('%s has no %s' % (CONFIG, '.'.join(PASSWORD_AT)))
        token = base64.b64encode(('%s:%s' % (user, password)).encode('utf-8')).decode('ascii')
        self.headers = {'Authorization': 'Basic ' + token, 'Tenant': TENANT, 'Content-Type': 'application/json'}

    def call(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode('utf-8')
        request = Request(API + path, data=data, headers=self.headers)
        request.get_method = lambda: method
        response = urlopen(request, timeout=30)
        try:
            return json.loads(response.read().decode('utf-8'))
        finally:
            response.close()


def describe(err):
    if isinstance(err, HTTPError):
        return 'HTTP %d %s' % (err.code, err.reason)
    if isinstance(err, URLError):
        return str(err.reason)
    return str(err)


def _rules_of(context):
    return context.get('cloudify', {}).get('import_resolver', {}).get('parameters', {}).get('rules', [])


def merged(ours, existing):
    """Ours first, in order, then every existing rule that is not one of ours: nothing twice."""
    keyed = [json.dumps(r, sort_keys=True) for r in ours]
    return list(ours) + [r for r in existing if json.dumps(r, sort_keys=True) not in keyed]


def wait_for_context(manager):
    deadline = time.time() + WAIT_SECONDS
    last = None
    while True:
        try:
            return manager.call('GET', '/api/v3.1/provider/context')
        except (HTTPError, URLError, IOError) as err:
            # Still starting: nginx refuses the connection, or answers 502 while the REST service is down. Any
            # other answer (a refused password, an unknown path) will not change by waiting.
            if isinstance(err, HTTPError) and err.code < 500:
                raise
            if describe(err) != last:
                last = describe(err)
                say('waiting for the manager at %s (%s)' % (API, last))
            if time.time() > deadline:
                raise RuntimeError('the manager did not answer within %d s (%s)' % (WAIT_SECONDS, last))
            time.sleep(WAIT_INTERVAL)


def apply_rules():
    lines = read_config()
    ours = config_rules(lines)
    manager = Manager(lines)
    provider = wait_for_context(manager)
    context = provider.get('context') or {}
    existing = _rules_of(context)
    rules = merged(ours, existing)
    if rules == existing:
        say('the import resolver rules of %s are already in force (%d rules)' % (CONFIG, len(rules)))
        return 0
    parameters = context.setdefault('cloudify', {}).setdefault('import_resolver', {}).setdefault('parameters', {})
    parameters['rules'] = rules
    manager.call('POST', '/api/v3.1/provider/context?update=true', {'name': provider.get('name', 'provider'), 'context': context})
    added = [r for r in ours if r not in existing]
    say('provider context updated: %d rules, %d added first (%s)' % (len(rules), len(added), ', '.join(sorted(k for r in added for k in r))))
    # Each REST worker built its resolver at start: only a restart makes all of them use the new rules.
    code = subprocess.call(['systemctl', 'restart', 'cloudify-restservice'])
    if code != 0:
        raise RuntimeError('systemctl restart cloudify-restservice exited with %d' % code)
    say('restarted cloudify-restservice')
    return 0


def check():
    lines = read_config()
    ours = config_rules(lines)
    try:
        provider = Manager(lines).call('GET', '/api/v3.1/provider/context')
    except Exception as err:
        say('not ready: the manager does not answer (%s)' % describe(err))
        return 1
    if _rules_of(provider.get('context') or {})[:len(ours)] != ours:
        say('not ready: the import resolver rules of %s are not in force yet' % CONFIG)
        return 1
    return 0


def deployments():
    lines = read_config()
    items = Manager(lines).call('GET', '/api/v3.1/deployments?_include=id').get('items', [])
    for item in items:
        print(item['id'])
    return 0


def main(argv):
    commands = {'rules': lambda: print(json.dumps(config_rules(read_config()))) or 0,
                'apply-rules': apply_rules, 'check': check, 'deployments': deployments}
    if len(argv) != 2 or argv[1] not in commands:
        print('usage: %s %s' % (argv[0], '|'.join(sorted(commands))), file=sys.stderr)
        return 2
    try:
        return commands[argv[1]]()
    except Exception as err:
        say('%s failed: %s' % (argv[1], describe(err)))
        return 1


if __name__ == '__main__':
    sys.exit(main(sys.argv))
