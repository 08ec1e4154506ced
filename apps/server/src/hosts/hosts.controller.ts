import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query, UsePipes } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { AuditAction } from '../audit/audit.http';
import { Actor, CurrentActor } from '../auth/auth.decorators';
import { BulkResultDto, HostDetailDto, HostDto, HostIdParamDto, HostIdsDto, HostReasonDto, ListHostsQueryDto, requestValidation } from './hosts.dto';
import { HostsService } from './hosts.service';

@ApiTags('hosts')
@Controller('api/hosts')
@UsePipes(requestValidation)
export class HostsController {
  constructor(private readonly hosts: HostsService) {}

  @Get()
  list(@Query() query: ListHostsQueryDto): Promise<{ items: HostDto[]; total: number }> {
    return this.hosts.list(query);
  }

  @Post('approve')
  @AuditAction('host.approve-many', 'host')
  @HttpCode(200)
  approveMany(@Body() body: HostIdsDto, @CurrentActor() actor: Actor): Promise<BulkResultDto> {
    return this.hosts.changeMany('approve', body.ids, actor);
  }

  @Post('reject')
  @AuditAction('host.reject-many', 'host')
  @HttpCode(200)
  rejectMany(@Body() body: HostIdsDto, @CurrentActor() actor: Actor): Promise<BulkResultDto> {
    return this.hosts.changeMany('reject', body.ids, actor);
  }

  @Get(':id')
  get(@Param() p: HostIdParamDto): Promise<HostDetailDto> {
    return this.hosts.get(p.id);
  }

  @Post(':id/approve')
  @AuditAction('host.approve', 'host')
  @HttpCode(200)
  approve(@Param() p: HostIdParamDto, @CurrentActor() actor: Actor): Promise<HostDto> {
    return this.hosts.change('approve', p.id, actor);
  }

  @Post(':id/reject')
  @AuditAction('host.reject', 'host')
  @HttpCode(200)
  reject(@Param() p: HostIdParamDto, @Body() body: HostReasonDto, @CurrentActor() actor: Actor): Promise<HostDto> {
    return this.hosts.change('reject', p.id, actor, body.reason);
  }

  @Post(':id/revoke')
  @AuditAction('host.revoke', 'host')
  @HttpCode(200)
  revoke(@Param() p: HostIdParamDto, @Body() body: HostReasonDto, @CurrentActor() actor: Actor): Promise<HostDto> {
    return this.hosts.change('revoke', p.id, actor, body.reason);
  }

  @Delete(':id')
  @AuditAction('host.delete', 'host')
  @HttpCode(204)
  async remove(@Param() p: HostIdParamDto): Promise<void> {
    await this.hosts.remove(p.id);
  }
}
