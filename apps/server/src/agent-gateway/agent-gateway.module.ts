import { Module } from '@nestjs/common';
import { EnrollmentModule } from '../enrollment/enrollment.module';
import { HostsModule } from '../hosts/hosts.module';
import { AgentChannel } from './agent-channel.service';
import { AgentHandshakeService } from './agent-handshake.service';
import { AgentGateway } from './agent.gateway';

@Module({
  imports: [HostsModule, EnrollmentModule],
  providers: [AgentHandshakeService, AgentChannel, AgentGateway],
  exports: [AgentChannel],
})
export class AgentGatewayModule {}
