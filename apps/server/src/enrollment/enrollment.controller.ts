import { Body, Controller, Delete, Get, Param, Post, Query, UsePipes } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { AuditAction } from '../audit/audit.http';
import { Actor, CurrentActor, MinRole } from '../auth/auth.decorators';
import { requestValidation } from '../hosts/hosts.dto';
import { CreatedEnrollmentTokenDto, CreateEnrollmentTokenDto, EnrollmentTokenDto, EnrollmentTokenIdParamDto, ListEnrollmentTokensQueryDto } from './enrollment.dto';
import { EnrollmentService } from './enrollment.service';

@ApiTags('enrollment')
@Controller('api/enrollment-tokens')
@UsePipes(requestValidation)
export class EnrollmentController {
  constructor(private readonly enrollment: EnrollmentService) {}

  @Post()
  @AuditAction('enrollment-token.create', 'enrollment-token')
  @MinRole('admin')
  create(@Body() body: CreateEnrollmentTokenDto, @CurrentActor() actor: Actor): Promise<CreatedEnrollmentTokenDto> {
    return this.enrollment.createToken(body, actor);
  }

  @Get()
  @MinRole('admin')
  list(@Query() q: ListEnrollmentTokensQueryDto): Promise<{ items: EnrollmentTokenDto[]; total: number }> {
    return this.enrollment.listTokens(q.limit, q.offset);
  }

  @Delete(':id')
  @AuditAction('enrollment-token.revoke', 'enrollment-token')
  @MinRole('admin')
  revoke(@Param() p: EnrollmentTokenIdParamDto): Promise<EnrollmentTokenDto> {
    return this.enrollment.revokeToken(p.id);
  }
}
