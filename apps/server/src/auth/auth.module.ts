import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { UiGatewayModule } from '../ui-gateway/ui-gateway.module';
import { UsersModule } from '../users/users.module';
import { AuthController } from './auth.controller';
import { AuthGuard } from './auth.guard';
import { AuthService } from './auth.service';
import { SessionsModule } from './sessions.module';

/** Login/logout and the global guard. Exports SessionsModule so the /ui gateway can use SessionsService.fromCookieHeader(). */
@Module({
  imports: [SessionsModule, UsersModule, UiGatewayModule],
  controllers: [AuthController],
  providers: [AuthService, { provide: APP_GUARD, useClass: AuthGuard }],
  exports: [SessionsModule],
})
export class AuthModule {}
