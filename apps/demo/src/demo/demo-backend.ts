import type { NodeId } from '@synod/core';
import type { DashboardFrame } from './dashboard-types.js';

/**
 * What the dashboard and `synod demo` drive: the in-process cluster
 * (DemoCluster) or `synod serve` processes (ProcessDemoCluster). A control
 * a backend cannot offer throws InvalidArgumentError with the reason, and
 * the frame's `unavailable` lists it so the page can say so up front.
 */
export interface DemoBackend {
  readonly ids: readonly NodeId[];
  /** Elections won by a node other than the previous leader. */
  readonly leaderChanges: number;
  leader(): NodeId | undefined;
  frame(): DashboardFrame;
  crash(id: NodeId): Promise<void>;
  restart(id: NodeId): void | Promise<void>;
  // The network controls check their arguments synchronously (throwing
  // InvalidArgumentError); a backend of real processes then resolves once
  // every running node has its new link faults.
  isolate(id: NodeId): void | Promise<void>;
  partition(groups: readonly (readonly NodeId[])[]): void | Promise<void>;
  dropLink(a: NodeId, b: NodeId): void | Promise<void>;
  delayLink(a: NodeId, b: NodeId, ms: number): void | Promise<void>;
  pause(id: NodeId, ms?: number): void;
  heal(): void | Promise<void>;
  transferLeadership(target: NodeId): Promise<void>;
  addMember(): Promise<NodeId>;
  removeMember(id: NodeId): Promise<void>;
  startWorkload(): void;
  stopWorkload(): void;
  checkRecentWindow(timeoutMs?: number): Promise<void>;
  htmlReport(): Promise<string>;
  stop(): Promise<void>;
}
