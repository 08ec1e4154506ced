import { defineErrors } from '../common/errors';

export const UsersErrors = defineErrors('USERS', {
  NOT_FOUND: [404, 'User not found'],
  USERNAME_TAKEN: [409, 'That username is already taken'],
  LAST_ADMIN: [409, 'This is the last enabled admin: make another user admin first'],
});
