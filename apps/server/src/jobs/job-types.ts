import { Injectable, OnApplicationBootstrap } from '@nestjs/common';
import type { CommandName } from '@sysfleet/protocol';
import type { JobEntity } from './jobs.entity';

/**
 * What the pipeline knows about one command: how long a job may wait for its host,
 * how long it may run, the class that validates its result, and what a success changes.
 * Features register their command types on module init.
 */
export interface JobTypeDefinition<R extends object = object> {
  type: CommandName;
  /** Seconds a job may wait for an offline host before it expires. */
  deadlineSeconds: number;
  /** Seconds an agent may take once the job was delivered, before it is failed. */
  maxRunSeconds: number;
  /** Validates the agent's result of a succeeded job (unknown fields refused). */
  result?: new () => R;
  /** Applies a validated success (e.g. stores new facts). A throw fails the job with its message. */
  onSucceeded?(job: JobEntity, result: R): Promise<void>;
  /** Runs after the job reached any final state (also failed, cancelled, expired): settle what the job was changing. */
  onFinished?(job: JobEntity): Promise<void>;
  /** Serializes jobs that change the same object (one child VM): same key, one at a time. */
  serialKey?(hostId: string, params: Record<string, unknown>): string | null;
}

@Injectable()
export class JobTypes implements OnApplicationBootstrap {
  private readonly types = new Map<string, JobTypeDefinition<object>>();
  private overrides: Record<string, number> = {};

  register<R extends object>(def: JobTypeDefinition<R>): void {
    this.types.set(def.type, def as unknown as JobTypeDefinition<object>);
  }

  get(type: string): JobTypeDefinition<object> | undefined {
    return this.types.get(type);
  }

  /** Deadline overrides from configuration, `type=seconds` pairs. */
  setDeadlineOverrides(overrides: Record<string, number>): void {
    this.overrides = overrides;
  }

  /** Every feature has registered its types by now (module init): a deadline for any other type is a typo. */
  onApplicationBootstrap(): void {
    this.checkDeadlineOverrides();
  }

  /** Throws, naming the type, when `JOB_DEADLINES` sets a deadline for a type no feature registered. */
  checkDeadlineOverrides(): void {
    const unknown = Object.keys(this.overrides).filter((type) => !this.types.has(type));
    if (unknown.length === 0) return;
    const names = unknown.map((t) => `"${t}"`).join(', ');
    throw new Error(`JOB_DEADLINES: unknown job type ${names}; known types: ${[...this.types.keys()].sort().join(', ')}`);
  }

  deadlineSeconds(def: JobTypeDefinition<object>): number {
    return this.overrides[def.type] ?? def.deadlineSeconds;
  }
}

/** Parses `JOB_DEADLINES` ("inventory.refresh=300,child.create=3600"). */
export function parseDeadlines(spec: string | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  for (const part of (spec ?? '').split(',').map((s) => s.trim()).filter(Boolean)) {
    const m = /^([a-z.-]+)=(\d+)$/.exec(part);
    if (!m) throw new Error(`JOB_DEADLINES: "${part}" is not type=seconds`);
    out[m[1]] = Number(m[2]);
  }
  return out;
}
