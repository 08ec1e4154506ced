const base = require('./jest.base');
module.exports = {
  ...base,
  displayName: 'web',
  testEnvironment: 'jsdom',
  testMatch: ['<rootDir>/apps/web/src/**/*.spec.tsx', '<rootDir>/apps/web/src/**/*.spec.ts'],
  setupFiles: ['<rootDir>/apps/web/src/testing/setup.ts'],
  moduleNameMapper: { ...base.moduleNameMapper, '\\.(css)$': '<rootDir>/test/support/style-mock.js' },
};
