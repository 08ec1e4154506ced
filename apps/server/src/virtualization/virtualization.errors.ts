import { defineErrors } from '../common/errors';

export const VirtualizationErrors = defineErrors('VIRTUALIZATION', {
  HOST_NOT_APPROVED: [409, 'The host is not approved'],
  WRONG_PLATFORM: [409, 'This hypervisor does not run on the host'],
  BAD_NETWORK_MODE: [400, 'This network mode does not apply to this hypervisor'],
  NO_REPORT: [404, 'The host has not reported its hypervisors yet'],
});
