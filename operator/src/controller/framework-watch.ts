// The one module that touches @dot-i/k8s-operator (and, through it, the old @kubernetes/client-node
// 0.20 it pins). It runs the framework's watches and hands every event to a callback as a plain
// object; everything else in the operator uses client-node 2.x.
//
// Framework behaviour worth knowing: each watch is restarted 200 ms after its stream ends (replaying
// ADDED for every object, which a level-triggered consumer absorbs), and a watch *error* makes the
// framework call process.exit(1), so a lost API server ends the process and Kubernetes restarts it.

import framework from '@dot-i/k8s-operator';

export interface WatchTarget {
  /** '' for the core group. */
  group: string;
  version: string;
  plural: string;
  /** Watch one namespace only; all namespaces when undefined. */
  namespace?: string;
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';
export type WatchCallback = (type: WatchEventType, object: Record<string, unknown>) => void | Promise<void>;

export interface FrameworkLogger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

const BaseOperator = framework.default;

class WatchOnlyOperator extends BaseOperator {
  protected override async init(): Promise<void> {}

  addWatch(target: WatchTarget, onEvent: WatchCallback): Promise<void> {
    return this.watchResource(
      target.group,
      target.version,
      target.plural,
      async (event) => {
        await onEvent(event.type as WatchEventType, event.object as unknown as Record<string, unknown>);
      },
      target.namespace,
    );
  }
}

export class FrameworkWatches {
  readonly #operator: WatchOnlyOperator;

  /**
   * The framework loads its configuration with loadFromDefault(), which honours $KUBECONFIG and
   * falls back to the in-cluster service account: point $KUBECONFIG at the file before constructing.
   */
  constructor(kubeconfigPath: string | undefined, logger: FrameworkLogger) {
    if (kubeconfigPath) process.env.KUBECONFIG = kubeconfigPath;
    this.#operator = new WatchOnlyOperator(logger);
  }

  async start(): Promise<void> {
    await this.#operator.start();
  }

  watch(target: WatchTarget, onEvent: WatchCallback): Promise<void> {
    return this.#operator.addWatch(target, onEvent);
  }

  stop(): void {
    this.#operator.stop();
  }
}
