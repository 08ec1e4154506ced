import { Module } from '@nestjs/common';
import { SessionsModule } from '../auth/sessions.module';
import { UiEvents } from './ui-events.service';
import { UiGateway } from './ui.gateway';

@Module({
  imports: [SessionsModule],
  providers: [UiEvents, UiGateway],
  exports: [UiEvents],
})
export class UiGatewayModule {}
