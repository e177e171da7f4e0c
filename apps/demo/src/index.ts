/**
 * `@synod/demo`: the `synod` command line and the demo cluster it runs.
 *
 * @packageDocumentation
 */
export { main } from './cli.js';
export { DemoCluster, MAX_DEMO_NODES, type DemoClusterOptions } from './demo/demo-cluster.js';
export type * from './demo/dashboard-types.js';
export { startDashboard, type DashboardOptions, type DashboardServer } from './demo/dashboard-server.js';
export { DashboardNotBuiltError } from './demo/dashboard-assets.js';
export { runDemo, parseDemoArgs, type DemoArgs } from './demo/run-demo.js';
