const base = require('./jest.base');
module.exports = {
  ...base,
  displayName: 'unit',
  testMatch: ['<rootDir>/{apps,libs,migrations}/**/src/**/*.spec.ts'],
  testPathIgnorePatterns: [...base.testPathIgnorePatterns, '<rootDir>/apps/web/'],
  projects: undefined,
};
