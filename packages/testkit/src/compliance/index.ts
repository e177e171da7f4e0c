export { transportComplianceSuite, COMPLIANCE_CLUSTER_ID } from './transport-suite.js';
export type { TransportSuiteContext, TransportSuiteSetup } from './transport-suite.js';
export { jsonTestCodec } from './json-test-codec.js';
export type { TestEnvelopeCodec } from './json-test-codec.js';
