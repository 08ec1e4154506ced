import { Controller, Get, Injectable, Module } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckService, HealthIndicatorService, TerminusModule, TypeOrmHealthIndicator } from '@nestjs/terminus';
import Redis from 'ioredis';
import { InjectRedis } from '../database/redis';
import { Public } from '../auth/auth.decorators';

@Injectable()
class RedisHealthIndicator {
  constructor(@InjectRedis() private readonly redis: Redis, private readonly indicators: HealthIndicatorService) {}
  async isHealthy(key: string) {
    const indicator = this.indicators.check(key);
    try {
      const pong = await Promise.race([this.redis.ping(), new Promise<string>((_, rej) => setTimeout(() => rej(new Error('timeout')), 2000))]);
      return pong === 'PONG' ? indicator.up() : indicator.down({ message: `unexpected reply ${pong}` });
    } catch (e) {
      return indicator.down({ message: (e as Error).message });
    }
  }
}

@ApiTags('health')
@Controller('health')
class HealthController {
  constructor(private readonly health: HealthCheckService, private readonly db: TypeOrmHealthIndicator, private readonly redis: RedisHealthIndicator) {}

  @Get()
  @Public()
  @HealthCheck()
  check() {
    return this.health.check([() => this.db.pingCheck('postgres', { timeout: 2000 }), () => this.redis.isHealthy('redis')]);
  }
}

@Module({ imports: [TerminusModule], controllers: [HealthController], providers: [RedisHealthIndicator] })
export class HealthModule {}
