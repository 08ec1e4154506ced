import { inventoryRefreshHandler } from './facts/inventory-refresh';
import { createChildHandlers, hypervisorHandlers } from './hypervisors/handlers';
import type { HandlerRegistry } from './jobs/registry';
import type { AgentServices } from './services';

/**
 * Every command this agent runs, registered in one place. A feature adds its handlers with one
 * import and one call below, e.g. `registerHypervisorHandlers(registry, services);`.
 */
export function registerCommands(registry: HandlerRegistry, services: AgentServices): void {
  registry.register(inventoryRefreshHandler(services));
  for (const handler of hypervisorHandlers) registry.register(handler);
  for (const handler of createChildHandlers(services)) registry.register(handler);
}
