// Tests are transpiled by SWC (fast, keeps decorator metadata for Nest DI);
// type checking is done once by `tsc --noEmit` in `npm test`.
const swc = [
  '@swc/jest',
  {
    jsc: {
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true },
      target: 'es2022',
      keepClassNames: true,
    },
  },
];
const common = { transform: { '^.+\\.ts$': swc }, testEnvironment: 'node', moduleFileExtensions: ['ts', 'js', 'json'] };
module.exports = {
  // Top level on purpose: Jest ignores testTimeout inside a project entry (jestjs/jest#9696); e2e tests need it.
  testTimeout: 60000,
  // A test that fails half-way can leave a Nest app (Bull, MySQL pools) open; the
  // run must still end so CI reports the failure instead of hanging until its time limit.
  forceExit: true,
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/src/**/*.spec.ts', '<rootDir>/hooks/**/*.spec.ts'] },
    { ...common, displayName: 'e2e', testMatch: ['<rootDir>/test/**/*.e2e-spec.ts'], globalSetup: '<rootDir>/test/global-setup.ts' },
  ],
};
