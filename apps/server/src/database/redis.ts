import { Global, Inject, Injectable, Module, OnApplicationShutdown } from '@nestjs/common';
import Redis from 'ioredis';
import { EnvironmentVariables } from '../config/config';

export const REDIS = Symbol('REDIS');
/**
 * Commands issued in one event-loop turn go out in one write: in a connection storm every handshake's
 * nonce SET was its own syscall and loopback round trip.
 */
export const AUTO_PIPELINE = { enableAutoPipelining: true } as const;

export const InjectRedis = () => Inject(REDIS);

/**
 * Closes a client once what was issued on it is sent. QUIT does not wait for the auto-pipeline: a
 * command issued in the same turn (a socket.io PUBLISH) would go out after it on a closing
 * connection and be refused, and nobody awaits those. A PING through the pipeline comes back
 * after everything queued before it.
 */
export async function closeRedis(client: Redis): Promise<void> {
  await client.ping().catch(() => undefined);
  await client.quit().catch(() => client.disconnect());
}

@Injectable()
class RedisCloser implements OnApplicationShutdown {
  constructor(@InjectRedis() private readonly redis: Redis) {}
  async onApplicationShutdown(): Promise<void> {
    await closeRedis(this.redis);
  }
}

/** One shared ioredis client for the server's own keys (nonces, rate limits, sessions). BullMQ and socket.io make their own. */
@Global()
@Module({
  providers: [
    { provide: REDIS, inject: [EnvironmentVariables], useFactory: (c: EnvironmentVariables) => new Redis(c.REDIS_URL, { maxRetriesPerRequest: null, ...AUTO_PIPELINE }) },
    RedisCloser,
  ],
  exports: [REDIS],
})
export class RedisModule {}
