/** Unit specs sit beside their code; multi-process suites live under test/. */
const swc = [
  '@swc/jest',
  {
    jsc: {
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true, useDefineForClassFields: false },
      target: 'es2022',
    },
    module: { type: 'commonjs' },
  },
];

const common = {
  testEnvironment: 'node',
  transform: { '^.+\\.(t|j|mj)s$': swc },
  // @nestjs/* 12 ships ESM only: let SWC turn it into CommonJS for Jest.
  transformIgnorePatterns: ['/node_modules/(?!(@nestjs)/)'],
};

module.exports = {
  // Per-project testTimeout is ignored by Jest 30; multi-process suites need the room.
  testTimeout: 60_000,
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/libs/**/*.spec.ts', '<rootDir>/apps/**/*.spec.ts'] },
    { ...common, displayName: 'e2e', testMatch: ['<rootDir>/test/*.e2e-spec.ts'] },
    {
      ...common,
      displayName: 'cluster',
      testMatch: ['<rootDir>/test/cluster/**/*.e2e-spec.ts'],
      globalSetup: '<rootDir>/test/support/broker.global-setup.ts',
      setupFiles: ['<rootDir>/test/support/broker.required.ts'],
      globalTeardown: '<rootDir>/test/support/broker.global-teardown.ts',
    },
    // Packs the packages and installs them in a fresh folder, as a user would: needs the build, not a broker.
    { ...common, displayName: 'install', testMatch: ['<rootDir>/test/install/**/*.e2e-spec.ts'] },
    // Containers only: docker compose with the images docker/standins/build.sh makes where no registry is reachable.
    { ...common, displayName: 'compose', testMatch: ['<rootDir>/test/compose/**/*.e2e-spec.ts'] },
  ],
};
