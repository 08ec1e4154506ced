import { Command, HostFacts, InventoryRefreshParams } from '@sysfleet/protocol';
import type { CommandHandler } from '../jobs/handler';
import type { AgentServices } from '../services';

/** inventory.refresh: collects the host's facts again and reports them; the result carries them too. */
export function inventoryRefreshHandler(services: AgentServices): CommandHandler<InventoryRefreshParams, { facts: HostFacts }> {
  return {
    command: Command.InventoryRefresh,
    params: InventoryRefreshParams,
    async run(_params, ctx) {
      await ctx.progress('collect', 'Collecting host facts', 10);
      const facts = await services.collectFacts();
      ctx.throwIfCancelled();
      await ctx.progress('report', `Reporting facts of ${facts.hostname} (${facts.disks.length} disks, ${facts.interfaces.length} interfaces)`, 70);
      await services.reportFacts(facts);
      return { facts };
    },
  };
}
