import { defineErrors } from '../common/errors';

export const AuthErrors = defineErrors('AUTH', {
  UNAUTHENTICATED: [401, 'Not logged in (or the session has ended)'],
  INVALID_CREDENTIALS: [401, 'Wrong username or password'],
  FORBIDDEN: [403, 'Your role does not allow this'],
  CSRF: [403, 'Missing or wrong X-CSRF-Token header (needed for changes made with the session cookie)'],
  RATE_LIMITED: [429, 'Too many failed logins; try again later'],
  WRONG_PASSWORD: [400, 'The current password is wrong'],
});
