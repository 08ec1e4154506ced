import { defineErrors } from '../common/errors';

export const JobErrors = defineErrors('JOB', {
  NOT_FOUND: [404, 'Job not found'],
  ALREADY_FINISHED: [409, 'The job has already finished'],
  UNKNOWN_TYPE: [400, 'Unknown job type'],
  HOST_NOT_APPROVED: [409, 'The host is not approved'],
  HOST_NOT_FOUND: [404, 'Host not found'],
  INVALID_IDEMPOTENCY_KEY: [400, 'Idempotency-Key must be 1-200 printable characters'],
});
