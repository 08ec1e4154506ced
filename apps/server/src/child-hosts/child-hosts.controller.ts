import { Body, Controller, Delete, Get, HttpCode, Param, ParseUUIDPipe, Post, Query } from '@nestjs/common';
import { ApiAcceptedResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { AuditAction } from '../audit/audit.http';
import { Actor, CurrentActor } from '../auth/auth.decorators';
import { IdempotencyKey } from '../jobs/idempotency-key.decorator';
import { JobDto, toJobDto } from '../jobs/jobs.dto';
import { ChildCapacityDto, ChildCapacityQueryDto, ChildDto, ChildParamsDto, ChildSearchQueryDto, CreateChildDto, DeleteChildQueryDto, StopChildDto } from './child-hosts.dto';
import { ChildHostsService } from './child-hosts.service';

@ApiTags('children')
@Controller('api/hosts/:id/children')
export class ChildHostsController {
  constructor(private readonly children: ChildHostsService) {}

  @Get()
  @ApiOkResponse({ type: ChildDto, isArray: true })
  list(@Param('id', ParseUUIDPipe) id: string): Promise<ChildDto[]> {
    return this.children.list(id);
  }

  /** Operators and viewers: how much memory and disk a new VM of the type may take now. */
  @Get('capacity')
  @ApiOkResponse({ type: ChildCapacityDto })
  capacity(@Param('id', ParseUUIDPipe) id: string, @Query() q: ChildCapacityQueryDto): Promise<ChildCapacityDto> {
    return this.children.capacity(id, q.childType);
  }

  @Post()
  @HttpCode(202)
  @AuditAction('child.create', 'host')
  @ApiAcceptedResponse({ type: JobDto })
  async create(@Param('id', ParseUUIDPipe) id: string, @Body() dto: CreateChildDto, @CurrentActor() actor: Actor, @IdempotencyKey() key?: string): Promise<JobDto> {
    return toJobDto((await this.children.create(id, dto, actor, key)).job);
  }

  @Post(':childId/start')
  @HttpCode(202)
  @AuditAction('child.start', 'host')
  @ApiAcceptedResponse({ type: JobDto })
  async start(@Param() p: ChildParamsDto, @CurrentActor() actor: Actor, @IdempotencyKey() key?: string): Promise<JobDto> {
    return toJobDto((await this.children.start(p.id, p.childId, actor, key)).job);
  }

  @Post(':childId/stop')
  @HttpCode(202)
  @AuditAction('child.stop', 'host')
  @ApiAcceptedResponse({ type: JobDto })
  async stop(@Param() p: ChildParamsDto, @Body() dto: StopChildDto, @CurrentActor() actor: Actor, @IdempotencyKey() key?: string): Promise<JobDto> {
    return toJobDto((await this.children.stop(p.id, p.childId, dto.force ?? false, actor, key)).job);
  }

  @Post(':childId/restart')
  @HttpCode(202)
  @AuditAction('child.restart', 'host')
  @ApiAcceptedResponse({ type: JobDto })
  async restart(@Param() p: ChildParamsDto, @CurrentActor() actor: Actor, @IdempotencyKey() key?: string): Promise<JobDto> {
    return toJobDto((await this.children.restart(p.id, p.childId, actor, key)).job);
  }

  @Delete(':childId')
  @HttpCode(202)
  @AuditAction('child.delete', 'host')
  @ApiAcceptedResponse({ type: JobDto })
  async remove(@Param() p: ChildParamsDto, @Query() q: DeleteChildQueryDto, @CurrentActor() actor: Actor, @IdempotencyKey() key?: string): Promise<JobDto> {
    return toJobDto((await this.children.remove(p.id, p.childId, q.deleteDisk ?? false, actor, key)).job);
  }
}

/** Child VMs across the fleet. */
@ApiTags('children')
@Controller('api/children')
export class ChildrenController {
  constructor(private readonly children: ChildHostsService) {}

  @Get()
  search(@Query() q: ChildSearchQueryDto): Promise<{ items: ChildDto[]; total: number }> {
    return this.children.search(q);
  }
}
