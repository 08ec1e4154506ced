import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { UiGatewayModule } from '../ui-gateway/ui-gateway.module';
import { HostsController } from './hosts.controller';
import { HostEntity } from './hosts.entity';
import { HostsRepository } from './hosts.repository';
import { HostsService } from './hosts.service';

@Module({
  imports: [TypeOrmModule.forFeature([HostEntity]), UiGatewayModule],
  controllers: [HostsController],
  providers: [HostsRepository, HostsService],
  exports: [HostsService, HostsRepository],
})
export class HostsModule {}
