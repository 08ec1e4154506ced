const base = require('./jest.base');
module.exports = {
  ...base,
  displayName: 'browser',
  testMatch: ['<rootDir>/test/browser/**/*.spec.ts'],
  testTimeout: 120000,
};
