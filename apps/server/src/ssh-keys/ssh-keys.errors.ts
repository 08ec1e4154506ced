import { defineErrors } from '../common/errors';

export const SshKeyErrors = defineErrors('SSH_KEY', {
  NOT_FOUND: [404, 'SSH key not found'],
  NAME_TAKEN: [409, 'An SSH key with this name exists'],
  INVALID: [400, 'The public key is not valid'],
  BAD_REQUEST: [400, 'Give either generate: true or a publicKey'],
});
