import { defineErrors } from '../common/errors';

export const ChildErrors = defineErrors('CHILD', {
  NOT_FOUND: [404, 'Child VM not found'],
  HOST_NOT_APPROVED: [409, 'The host is not approved'],
  ROLE_MISSING: [409, 'The host has no initialised hypervisor of this type'],
  NAME_TAKEN: [409, 'A child VM with this name exists on the host'],
  DISTRIBUTION_NOT_FOUND: [404, 'Distribution not found'],
  DISTRIBUTION_DISABLED: [409, 'The distribution is disabled'],
  DISTRIBUTION_MISMATCH: [400, 'The distribution is for another child type'],
  DISTRIBUTION_UNVERIFIABLE: [409, 'The distribution has no checksum to verify its image'],
  INSUFFICIENT_MEMORY: [409, 'The host would be left short of its reserved memory'],
  INSUFFICIENT_DISK: [409, 'The host would be left short of its reserved disk'],
  NO_FACTS: [409, 'The host has not reported its memory and disks'],
  AGENT_BUNDLE_MISSING: [503, 'The server has no agent bundle to install'],
  BUSY: [409, 'A create or delete of this child VM is under way'],
  GONE: [409, 'The VM is no longer on the host'],
  INVALID: [400, 'The child VM request is not valid'],
});
