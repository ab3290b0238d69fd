// types-3.4/types.yaml against the structure of Cloudify's own 3.4 types: the facts blueprints depend on,
// read from the parsed document, not from its text.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';

const test = suite('types-3.4');
const doc = parseDocument(readFileSync(new URL('../../types-3.4/types.yaml', import.meta.url), 'utf8'));
// The document is checked field by field below; `any` keeps those paths readable.
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a parsed YAML tree, read by its known paths
const types = doc.toJS() as any;
const compute = types.node_types['cloudify.nodes.Compute'];
const agentOps = compute.interfaces['cloudify.interfaces.cloudify_agent'];
const TREE = 'https://raw.githubusercontent.com/cloudify-cosmo/cloudify-manager/3.4/resources/rest-service/cloudify';
const POLICY_BASICS = {
  policy_operates_on_group: false,
  is_node_started_before_workflow: true,
  interval_between_workflows: 300,
};

test('it is valid YAML of DSL 1.3', () => {
  assert.equal(doc.errors, []);
  assert.equal(doc.warnings, []);
  assert.is(types.tosca_definitions_version, 'cloudify_dsl_1_3');
});

test('exactly the three plugins of 3.4 (agent, default_workflows, script; no diamond), none installed, each with its executor', () => {
  assert.equal(types.plugins, {
    agent: { executor: 'central_deployment_agent', install: false },
    default_workflows: { executor: 'central_deployment_agent', install: false },
    script: { executor: 'host_agent', install: false },
  });
});

test('every node type of 3.4, Database and CloudifyManager included, derived as in 3.4', () => {
  const derived = Object.fromEntries(Object.entries(types.node_types).map(([name, t]) => [name, (t as { derived_from?: string }).derived_from ?? null]));
  const root = 'cloudify.nodes.Root';
  const software = 'cloudify.nodes.SoftwareComponent';
  assert.equal(derived, {
    'cloudify.nodes.Root': null,
    'cloudify.nodes.Compute': root,
    'cloudify.nodes.Container': 'cloudify.nodes.Compute',
    'cloudify.nodes.Tier': root,
    'cloudify.nodes.Volume': root,
    'cloudify.nodes.FileSystem': root,
    'cloudify.nodes.ObjectStorage': root,
    'cloudify.nodes.Network': root,
    'cloudify.nodes.Subnet': root,
    'cloudify.nodes.Port': root,
    'cloudify.nodes.Router': root,
    'cloudify.nodes.LoadBalancer': root,
    'cloudify.nodes.VirtualIP': root,
    'cloudify.nodes.SecurityGroup': root,
    'cloudify.nodes.SoftwareComponent': root,
    'cloudify.nodes.DBMS': software,
    'cloudify.nodes.Database': root,
    'cloudify.nodes.WebServer': software,
    'cloudify.nodes.ApplicationServer': software,
    'cloudify.nodes.MessageBusServer': software,
    'cloudify.nodes.ApplicationModule': root,
    'cloudify.nodes.CloudifyManager': software,
  });
  assert.equal(Object.keys(types.node_types['cloudify.nodes.CloudifyManager'].properties), ['cloudify', 'cloudify_packages']);
  assert.equal(types.node_types['cloudify.nodes.CloudifyManager'].properties.cloudify.default.workflows, { task_retries: -1, task_retry_interval: 30 });
});

test("Compute: install_agent defaults to '' (agent_config.install_method governs the agent), agent_config to a remote install on port 22", () => {
  assert.is(compute.properties.install_agent.default, '');
  // No type is declared, so blueprints that still set install_agent: false parse.
  assert.not.ok('type' in compute.properties.install_agent);
  assert.equal(compute.properties.agent_config, { type: 'cloudify.datatypes.AgentConfig', default: { install_method: 'remote', port: 22 } });
  assert.is(compute.properties.ip.default, '');
  assert.is(compute.properties.os_family.default, 'linux');
  assert.equal(compute.properties.cloudify_agent, { default: {} });
});

test('the cloudify_agent operations run where 3.4 runs them, restart_amqp and stop_amqp included, with their timeouts', () => {
  const executors = Object.fromEntries(Object.entries(agentOps).map(([op, def]) => [op, (def as { executor: string }).executor]));
  assert.equal(executors, {
    create: 'central_deployment_agent',
    configure: 'central_deployment_agent',
    start: 'central_deployment_agent',
    stop: 'central_deployment_agent',
    stop_amqp: 'host_agent',
    delete: 'central_deployment_agent',
    restart: 'central_deployment_agent',
    restart_amqp: 'host_agent',
    install_plugins: 'host_agent',
    create_amqp: 'central_deployment_agent',
    validate_amqp: 'central_deployment_agent',
  });
  assert.is(agentOps.restart_amqp.implementation, 'agent.cloudify_agent.operations.restart');
  assert.is(agentOps.stop_amqp.implementation, 'agent.cloudify_agent.operations.stop');
  assert.is(agentOps.create.implementation, 'agent.cloudify_agent.installer.operations.create');
  assert.equal(agentOps.create_amqp.inputs, { install_agent_timeout: { default: 300 } });
  assert.equal(agentOps.validate_amqp.inputs, { validate_agent_timeout: { default: 20 } });
});

test('AgentConfig has service_name, every property typed as in 3.4', () => {
  const props = types.data_types['cloudify.datatypes.AgentConfig'].properties;
  const shape = Object.fromEntries(Object.entries(props).map(([k, v]) => [k, [(v as { type?: string }).type ?? null, (v as { required: boolean }).required]]));
  assert.equal(shape, {
    install_method: ['string', true],
    service_name: ['string', false],
    user: ['string', false],
    key: ['string', false],
    password: ['string', false],
    port: ['integer', false],
    process_management: [null, false],
    min_workers: ['integer', false],
    max_workers: ['integer', false],
    disable_requiretty: ['boolean', false],
    env: [null, false],
    extra: [null, false],
  });
});

test('FileSystem: typed properties and its lifecycle configure, by the script plugin', () => {
  const fs = types.node_types['cloudify.nodes.FileSystem'];
  const shape = Object.fromEntries(Object.entries(fs.properties).map(([k, v]) => [k, [(v as { type: string }).type, (v as { default?: unknown }).default]]));
  assert.equal(shape, {
    use_external_resource: ['boolean', false],
    partition_type: ['integer', 83],
    fs_type: ['string', undefined],
    fs_mount_path: ['string', undefined],
  });
  assert.equal(fs.interfaces['cloudify.interfaces.lifecycle'].configure, {
    implementation: 'script.script_runner.tasks.run',
    inputs: { script_path: { default: `${TREE}/fs/mkfs.sh` } },
  });
});

test('the relationships, with the file system scripts of 3.4', () => {
  const rel = types.relationships;
  assert.equal(Object.keys(rel), [
    'cloudify.relationships.depends_on',
    'cloudify.relationships.connected_to',
    'cloudify.relationships.contained_in',
    'cloudify.relationships.file_system_depends_on_volume',
    'cloudify.relationships.file_system_contained_in_compute',
  ]);
  assert.equal(rel['cloudify.relationships.depends_on'].properties, { connection_type: { default: 'all_to_all' } });
  const fdisk = rel['cloudify.relationships.file_system_depends_on_volume'].source_interfaces['cloudify.interfaces.relationship_lifecycle'].preconfigure;
  assert.equal(fdisk.inputs, { script_path: { default: `${TREE}/fs/fdisk.sh` }, device_name: { default: { get_attribute: ['TARGET', 'device_name'] } } });
  const mount = rel['cloudify.relationships.file_system_contained_in_compute'].source_interfaces['cloudify.interfaces.relationship_lifecycle'];
  assert.is(mount.establish.inputs.script_path.default, `${TREE}/fs/mount.sh`);
  assert.is(mount.unlink.inputs.script_path.default, `${TREE}/fs/unmount.sh`);
});

test("the workflows: update with skip_install/skip_uninstall and update_id '', scale with exactly scalable_entity_name, delta and scale_compute, install_new_agents with install/validate", () => {
  const wf = types.workflows;
  assert.equal(Object.keys(wf).sort(), ['execute_operation', 'heal', 'install', 'install_new_agents', 'scale', 'uninstall', 'update']);
  assert.is(wf.install, 'default_workflows.cloudify.plugins.workflows.install');
  assert.is(wf.uninstall, 'default_workflows.cloudify.plugins.workflows.uninstall');
  assert.is(wf.update.parameters.update_id.default, '');
  assert.is(wf.update.parameters.skip_install.default, false);
  assert.is(wf.update.parameters.skip_uninstall.default, false);
  assert.is(Object.keys(wf.update.parameters).length, 12);
  assert.equal(Object.keys(wf.scale.parameters), ['scalable_entity_name', 'delta', 'scale_compute']);
  assert.not.ok('default' in wf.scale.parameters.scalable_entity_name);
  assert.is(wf.scale.parameters.delta.default, 1);
  assert.is(wf.scale.parameters.scale_compute.default, false);
  assert.is(wf.scale.mapping, 'default_workflows.cloudify.plugins.workflows.scale_entity');
  assert.equal(Object.fromEntries(Object.entries(wf.install_new_agents.parameters).map(([k, v]) => [k, (v as { default: unknown }).default])), {
    install_agent_timeout: 300,
    node_ids: [],
    node_instance_ids: [],
    validate: true,
    install: true,
  });
  assert.equal(Object.keys(wf.execute_operation.parameters), [
    'operation',
    'operation_kwargs',
    'allow_kwargs_override',
    'run_by_dependency_order',
    'type_names',
    'node_ids',
    'node_instance_ids',
  ]);
});

test("the policy types carry 3.4's common fields and name their source by its full URL; so does the trigger", () => {
  const policies = types.policy_types;
  for (const name of ['host_failure', 'threshold', 'ewma_stabilized']) {
    const policy = policies[`cloudify.policies.types.${name}`];
    assert.is(policy.source, `${TREE}/policies/${name}.clj`);
    for (const [field, value] of Object.entries(POLICY_BASICS)) assert.is(policy.properties[field].default, value, `${name}.${field}`);
  }
  assert.is(policies['cloudify.policies.types.ewma_stabilized'].properties.stability_time.default, 0);
  assert.is(policies['cloudify.policies.types.ewma_stabilized'].properties.ewma_timeless_r.default, 0.5);
  assert.is(policies['cloudify.policies.types.threshold'].properties.upper_bound.default, true);
  const trigger = types.policy_triggers['cloudify.policies.triggers.execute_workflow'];
  assert.is(trigger.source, `${TREE}/triggers/execute_workflow.clj`);
  assert.equal(Object.keys(trigger.parameters), ['workflow', 'workflow_parameters', 'force', 'allow_custom_parameters', 'socket_timeout', 'conn_timeout']);
});

test('no interface operation is a bare string: each names its implementation in a map, or is empty', () => {
  for (const [typeName, type] of Object.entries(types.node_types) as [string, { interfaces?: Record<string, Record<string, unknown>> }][]) {
    for (const [iface, ops] of Object.entries(type.interfaces ?? {})) {
      for (const [op, def] of Object.entries(ops)) assert.type(def, 'object', `${typeName} ${iface}.${op}`);
    }
  }
});

test.run();
