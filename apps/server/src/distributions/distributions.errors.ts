import { defineErrors } from '../common/errors';

export const DistributionErrors = defineErrors('DISTRIBUTION', {
  NOT_FOUND: [404, 'Distribution not found'],
  EXISTS: [409, 'A distribution with this child type, name and version exists'],
  INVALID: [400, 'The distribution is not valid'],
});
