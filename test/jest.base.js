// Shared Jest settings: sources are transformed by SWC (decorator metadata on, as Nest needs),
// and the workspace libraries resolve to their sources, so no build is needed for unit tests.
const path = require('node:path');
const root = path.resolve(__dirname, '..');
module.exports = {
  rootDir: root,
  testEnvironment: 'node',
  transform: { '^.+\\.(t|j)sx?$': ['@swc/jest', { swcrc: true, configFile: path.join(root, '.swcrc') }] },
  moduleNameMapper: {
    '^@sysfleet/protocol$': '<rootDir>/libs/protocol/src/index.ts',
    '^@sysfleet/migrations$': '<rootDir>/migrations/src/index.ts',
    '^@sysfleet/host-sim$': '<rootDir>/libs/host-sim/src/index.ts',
  },
  testPathIgnorePatterns: ['/node_modules/', '/dist/'],
  modulePathIgnorePatterns: ['<rootDir>/.*/dist/'],
};
