import { Body, Controller, Get, HttpCode, Post, Req, Res } from '@nestjs/common';
import { ApiBadRequestResponse, ApiNoContentResponse, ApiOkResponse, ApiTags, ApiTooManyRequestsResponse, ApiUnauthorizedResponse } from '@nestjs/swagger';
import type { Response } from 'express';
import { AuditAction, auditStateOf } from '../audit/audit.http';
import { EnvironmentVariables } from '../config/config';
import { toUserDto } from '../users/users.dto';
import { UsersService } from '../users/users.service';
import { AuthenticatedRequest, MinRole, Public } from './auth.decorators';
import { ChangePasswordDto, LoginDto, LoginResponseDto, MeDto } from './auth.dto';
import { AuthService } from './auth.service';
import { SESSION_COOKIE, SessionsService } from './sessions.service';

@ApiTags('auth')
@Controller('api/auth')
export class AuthController {
  constructor(
    private readonly auth: AuthService,
    private readonly sessions: SessionsService,
    private readonly users: UsersService,
    private readonly config: EnvironmentVariables,
  ) {}

  @Post('login')
  @Public()
  @HttpCode(200)
  @AuditAction('auth.login', 'user')
  @ApiOkResponse({ type: LoginResponseDto })
  @ApiUnauthorizedResponse({ description: 'AUTH_INVALID_CREDENTIALS' })
  @ApiTooManyRequestsResponse({ description: 'AUTH_RATE_LIMITED' })
  async login(@Body() dto: LoginDto, @Req() req: AuthenticatedRequest, @Res({ passthrough: true }) res: Response): Promise<LoginResponseDto> {
    const audit = auditStateOf(req);
    audit.details = { username: dto.username.slice(0, 200) };
    const { session, user } = await this.auth.login(dto.username, dto.password, { sourceIp: req.ip ?? null, userAgent: req.get('user-agent') ?? null });
    audit.actor = { id: user.id, name: user.username };
    audit.targetId = user.id;
    res.cookie(SESSION_COOKIE, session.token, this.cookieOptions());
    return { token: session.token, csrfToken: session.csrfToken, user: toUserDto(user) };
  }

  @Post('logout')
  @MinRole('viewer')
  @HttpCode(204)
  @AuditAction('auth.logout', 'user')
  @ApiNoContentResponse()
  async logout(@Req() req: AuthenticatedRequest, @Res({ passthrough: true }) res: Response): Promise<void> {
    await this.auth.logout(req.sessionId!);
    res.clearCookie(SESSION_COOKIE, this.cookieOptions());
  }

  @Post('password')
  @MinRole('viewer')
  @HttpCode(204)
  @AuditAction('auth.password', 'user')
  @ApiNoContentResponse({ description: 'Changed; every other session of the user has ended' })
  @ApiBadRequestResponse({ description: 'AUTH_WRONG_PASSWORD, or a new password that breaks the rules' })
  @ApiTooManyRequestsResponse({ description: 'AUTH_RATE_LIMITED' })
  async changePassword(@Body() dto: ChangePasswordDto, @Req() req: AuthenticatedRequest): Promise<void> {
    auditStateOf(req).targetId = req.actor!.userId;
    await this.auth.changePassword(req.actor!, req.sessionId!, dto.currentPassword, dto.newPassword, req.ip ?? null);
  }

  @Get('me')
  @ApiOkResponse({ type: MeDto })
  async me(@Req() req: AuthenticatedRequest): Promise<MeDto> {
    return { user: toUserDto(await this.users.get(req.actor!.userId)), csrfToken: this.sessions.csrfTokenFor(req.sessionId!) };
  }

  private cookieOptions() {
    return { httpOnly: true, sameSite: 'lax' as const, secure: this.config.PUBLIC_URL.startsWith('https:'), path: '/' };
  }
}
