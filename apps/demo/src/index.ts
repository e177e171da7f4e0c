/**
 * `@synod/demo`: the `synod` command line and the demo cluster it runs.
 *
 * @packageDocumentation
 */
export { main } from './cli.js';
export { DemoCluster, type DemoClusterOptions, type DemoSnapshot, type DemoNodeView } from './demo/demo-cluster.js';
export { runDemo } from './demo/run-demo.js';
