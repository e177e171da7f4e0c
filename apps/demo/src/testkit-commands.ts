// The commands that come from @synod/testkit, behind a module of their own so
// that the CLI loads the simulator and checker only when one of them runs.
export { runCheckHistory, runSimCommand } from '@synod/testkit';
