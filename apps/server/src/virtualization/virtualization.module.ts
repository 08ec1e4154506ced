import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AgentGatewayModule } from '../agent-gateway/agent-gateway.module';
import { HostsModule } from '../hosts/hosts.module';
import { UiGatewayModule } from '../ui-gateway/ui-gateway.module';
import { JobsModule } from '../jobs/jobs.module';
import { VirtualizationController } from './virtualization.controller';
import { HostVirtualizationEntity } from './virtualization.entity';
import { VirtualizationRepository } from './virtualization.repository';
import { VirtualizationService } from './virtualization.service';

@Module({
  imports: [TypeOrmModule.forFeature([HostVirtualizationEntity]), HostsModule, JobsModule, AgentGatewayModule, UiGatewayModule],
  controllers: [VirtualizationController],
  providers: [VirtualizationRepository, VirtualizationService],
  exports: [VirtualizationService],
})
export class VirtualizationModule {}
