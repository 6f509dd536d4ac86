// Gateway status has three writers: the Gateway controller (Accepted, Programmed, addresses), the
// translator (status.listeners) and the xDS side (legate.dev/ConfigAccepted, from Envoy's ACK/NACK).
// All use server-side apply, where an apply removes whatever its field manager owned and left out: so
// each writer has a field manager of its own, and here, on the real API server, every writer's fields
// survive the others' writes, in either order.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CustomObjectsApi, type KubernetesObject } from '@kubernetes/client-node';
import { ConfigAcceptedWriter } from '../../operator/src/controller/config-accepted-status.ts';
import { Kinds } from '../../operator/src/controller/gateway-controller.ts';
import { jsonLogger } from '../../operator/src/controller/log.ts';
import { ObjectStore } from '../../operator/src/controller/store.ts';
import { TranslationStatusWriter } from '../../operator/src/controller/translation-status.ts';
import { KubeApply } from '../../operator/src/infra/kube-apply.ts';
import { FieldManagers } from '../../operator/src/infra/names.ts';
import type { Gateway } from '../../operator/src/k8s/gateway-api.ts';
import { translateGateway } from '../../operator/src/translate/index.ts';
import { type TestCluster, testCluster } from '../harness/cluster.ts';
import { Kube, uniqueSuffix } from './operator-helpers.ts';

const group = 'gateway.networking.k8s.io';
const controllerName = 'legate.dev/status-owners-test';

describe('Gateway status writers never erase each other', () => {
  const ns = `op-owners-${uniqueSuffix()}`;
  let cluster: TestCluster;
  let custom: CustomObjectsApi;
  const log = jsonLogger('error');

  before(async () => {
    cluster = await testCluster();
    await new Kube(cluster.kubeConfig()).createNamespace(ns);
    custom = cluster.kubeConfig().makeApiClient(CustomObjectsApi);
  });
  after(async () => {
    await new Kube(cluster.kubeConfig()).core.deleteNamespace({ name: ns }).catch(() => {});
    await cluster?.stop();
  });

  async function createGateway(name: string): Promise<void> {
    await custom.createNamespacedCustomObject({
      group,
      version: 'v1',
      namespace: ns,
      plural: 'gateways',
      body: {
        apiVersion: `${group}/v1`,
        kind: 'Gateway',
        metadata: { name },
        spec: { gatewayClassName: 'legate', listeners: [{ name: 'http', port: 80, protocol: 'HTTP' }] },
      },
    });
  }

  async function read(name: string): Promise<Gateway> {
    return (await custom.getNamespacedCustomObjectStatus({
      group,
      version: 'v1',
      namespace: ns,
      plural: 'gateways',
      name,
    })) as Gateway;
  }

  /** The three writers, each as the operator runs it, against a store holding the Gateway as it is now. */
  function writers(name: string) {
    const kc = cluster.kubeConfig();
    const store = new ObjectStore();
    const refresh = async () => store.upsert(Kinds.gateway, (await read(name)) as unknown as KubernetesObject);
    const key = `${ns}/${name}`;
    return {
      async controller(programmed: boolean) {
        await refresh();
        // What GatewayController#writeGatewayStatus applies when translation owns the listeners.
        await new KubeApply(kc, FieldManagers.operator).applyStatus(
          { group, version: 'v1', plural: 'gateways', kind: 'Gateway', namespace: ns, name },
          {
            conditions: [
              { type: 'Accepted', status: 'True', reason: 'Accepted', message: 'ok', lastTransitionTime: now() },
              {
                type: 'Programmed',
                status: programmed ? 'True' : 'False',
                reason: programmed ? 'Programmed' : 'Pending',
                message: 'replicas',
                lastTransitionTime: now(),
              },
            ],
          },
        );
      },
      /** Translates and writes the listener status; with `leadingLater`, as a replica that becomes the leader after translating. */
      async listeners(leadingLater = false) {
        await refresh();
        const gateway = store.get<Gateway>(Kinds.gateway, key) as Gateway;
        const t = translateGateway({ gateways: [gateway] }, key);
        assert.ok(t);
        let leading = !leadingLater;
        const writer = new TranslationStatusWriter({
          kubeConfig: kc,
          kube: new KubeApply(kc, FieldManagers.listenerStatus),
          store,
          controllerName,
          leading: () => leading,
          log,
        });
        writer.update(t);
        await writer.idle();
        if (leadingLater) {
          assert.equal((await read(name)).status?.listeners, undefined, 'nothing written before leading');
          leading = true;
          writer.resync();
          await writer.idle();
        }
      },
      async configAccepted(accepted: boolean) {
        await refresh();
        const ok = await new ConfigAcceptedWriter(kc, store).write(key, {
          type: 'legate.dev/ConfigAccepted',
          status: accepted ? 'True' : 'False',
          reason: accepted ? 'Accepted' : 'Rejected',
          message: accepted ? 'Envoy accepted the configuration.' : 'envoy-1 rejected route version v2: bad',
        });
        assert.ok(ok);
      },
    };
  }

  function now(): string {
    return new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  }

  async function assertAll(name: string, configAccepted: string, programmed: string): Promise<void> {
    const status = (await read(name)).status;
    const conditions = Object.fromEntries((status?.conditions ?? []).map((c) => [c.type, c.status]));
    assert.deepEqual(conditions, {
      Accepted: 'True',
      Programmed: programmed,
      'legate.dev/ConfigAccepted': configAccepted,
    });
    assert.deepEqual(
      status?.listeners?.map((l) => [l.name, l.attachedRoutes, l.conditions.length > 0]),
      [['http', 0, true]],
    );
  }

  it('controller, then listeners, then ConfigAccepted: all three stay', async () => {
    await createGateway('a');
    const w = writers('a');
    await w.controller(true);
    await w.listeners();
    await w.configAccepted(false);
    await assertAll('a', 'False', 'True');
    // And each writes again: nothing of the others goes.
    await w.listeners();
    await assertAll('a', 'False', 'True');
    await w.controller(false);
    await assertAll('a', 'False', 'False');
  });

  it('ConfigAccepted, then listeners, then controller: all three stay', async () => {
    await createGateway('b');
    const w = writers('b');
    await w.configAccepted(false);
    await w.listeners();
    await w.controller(true);
    await assertAll('b', 'False', 'True');
    await w.configAccepted(true);
    await assertAll('b', 'True', 'True');
  });

  it('a replica that becomes the leader after translating writes the listener status then', async () => {
    await createGateway('c');
    const w = writers('c');
    await w.configAccepted(true);
    await w.controller(true);
    await w.listeners(true);
    await assertAll('c', 'True', 'True');
  });
});
