import { defineErrors } from '../common/errors';

export const HostErrors = defineErrors('HOST', {
  NOT_FOUND: [404, 'Host not found'],
  INVALID_TRANSITION: [409, 'This status change is not allowed'],
});
