import { Global, Inject, Injectable, Module, OnApplicationShutdown } from '@nestjs/common';
import Redis from 'ioredis';
import { EnvironmentVariables } from '../config/config';

export const REDIS = Symbol('REDIS');
export const InjectRedis = () => Inject(REDIS);

@Injectable()
class RedisCloser implements OnApplicationShutdown {
  constructor(@InjectRedis() private readonly redis: Redis) {}
  async onApplicationShutdown(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}

/** One shared ioredis client for the server's own keys (nonces, rate limits, sessions). BullMQ and socket.io make their own. */
@Global()
@Module({
  providers: [
    { provide: REDIS, inject: [EnvironmentVariables], useFactory: (c: EnvironmentVariables) => new Redis(c.REDIS_URL, { maxRetriesPerRequest: null }) },
    RedisCloser,
  ],
  exports: [REDIS],
})
export class RedisModule {}
