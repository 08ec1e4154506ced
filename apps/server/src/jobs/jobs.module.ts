import { BullModule } from '@nestjs/bullmq';
import { Module, OnModuleInit } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AgentGatewayModule } from '../agent-gateway/agent-gateway.module';
import { EnvironmentVariables } from '../config/config';
import { HostsModule } from '../hosts/hosts.module';
import { redisOptionsFromUrl } from '../database/redis-options';
import { UiGatewayModule } from '../ui-gateway/ui-gateway.module';
import { JobEventsRepository } from './job-events.repository';
import { JobTypes, parseDeadlines } from './job-types';
import { HostJobsController, JobsController } from './jobs.controller';
import { JobEntity, JobEventEntity } from './jobs.entity';
import { JobsProcessor } from './jobs.processor';
import { JobsRepository } from './jobs.repository';
import { JOBS_QUEUE, JobsService } from './jobs.service';
import { JobsSettings } from './jobs.settings';

@Module({
  imports: [
    TypeOrmModule.forFeature([JobEntity, JobEventEntity]),
    BullModule.forRootAsync({
      inject: [EnvironmentVariables],
      useFactory: (c: EnvironmentVariables) => ({ connection: redisOptionsFromUrl(c.REDIS_URL), prefix: `${c.REDIS_PREFIX}:bull` }),
    }),
    BullModule.registerQueue({ name: JOBS_QUEUE }),
    AgentGatewayModule,
    HostsModule,
    UiGatewayModule,
  ],
  controllers: [JobsController, HostJobsController],
  providers: [JobsRepository, JobEventsRepository, JobTypes, JobsService, JobsProcessor, JobsSettings],
  exports: [JobsService, JobTypes],
})
export class JobsModule implements OnModuleInit {
  constructor(private readonly types: JobTypes, private readonly config: EnvironmentVariables) {}

  onModuleInit(): void {
    this.types.setDeadlineOverrides(parseDeadlines(this.config.JOB_DEADLINES));
  }
}
