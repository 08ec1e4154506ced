import { defineErrors } from '../common/errors';

export const EnrollmentErrors = defineErrors('ENROLLMENT', {
  TOKEN_NOT_FOUND: [404, 'Enrollment token not found'],
  PARENT_NOT_FOUND: [404, 'Parent host not found'],
});
