import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AgentGatewayModule } from '../agent-gateway/agent-gateway.module';
import { DistributionsModule } from '../distributions/distributions.module';
import { EnrollmentModule } from '../enrollment/enrollment.module';
import { HostsModule } from '../hosts/hosts.module';
import { JobsModule } from '../jobs/jobs.module';
import { SshKeysModule } from '../ssh-keys/ssh-keys.module';
import { ChildHostsController, ChildrenController } from './child-hosts.controller';
import { ChildHostEntity } from './child-hosts.entity';
import { ChildHostsRepository } from './child-hosts.repository';
import { ChildHostsService } from './child-hosts.service';

@Module({
  imports: [TypeOrmModule.forFeature([ChildHostEntity]), HostsModule, DistributionsModule, SshKeysModule, EnrollmentModule, JobsModule, AgentGatewayModule],
  controllers: [ChildHostsController, ChildrenController],
  providers: [ChildHostsRepository, ChildHostsService],
})
export class ChildHostsModule {}
