import type { CommandName } from '@sysfleet/protocol';
import type { CommandHandler } from './handler';

/** The commands this agent can run, one handler each. */
export class HandlerRegistry {
  private readonly handlers = new Map<CommandName, CommandHandler>();

  register<P extends object, R extends Record<string, unknown>>(handler: CommandHandler<P, R>): void {
    if (this.handlers.has(handler.command)) throw new Error(`a handler for ${handler.command} is already registered`);
    this.handlers.set(handler.command, handler as unknown as CommandHandler);
  }

  get(command: string): CommandHandler | undefined {
    return this.handlers.get(command as CommandName);
  }

  commands(): CommandName[] {
    return [...this.handlers.keys()];
  }
}
