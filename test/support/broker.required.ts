// A setup file of the cluster project: with no broker found by broker.global-setup.ts, each
// cluster suite fails with how to get one, while the other projects' suites run.
if (process.env.DUPLEX_TEST_NO_BROKER) throw new Error(process.env.DUPLEX_TEST_NO_BROKER);
