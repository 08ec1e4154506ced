import { Body, Controller, Get, HttpCode, Param, ParseUUIDPipe, Post, Query } from '@nestjs/common';
import { ApiAcceptedResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { Actor, CurrentActor } from '../auth/auth.decorators';
import { BulkJobsResultDto, JobDto, JobHostIdsDto, JobQueryDto, JobWithEventsDto, toJobDto, toJobEventDto } from './jobs.dto';
import { AuditAction } from '../audit/audit.http';
import { IdempotencyKey } from './idempotency-key.decorator';
import { JobsService } from './jobs.service';

@ApiTags('jobs')
@Controller('api/jobs')
export class JobsController {
  constructor(private readonly jobs: JobsService) {}

  @Get()
  async list(@Query() q: JobQueryDto): Promise<{ items: JobDto[]; total: number }> {
    const { items, total } = await this.jobs.search(q);
    return { items: items.map(toJobDto), total };
  }

  @Get(':id')
  @ApiOkResponse({ type: JobWithEventsDto })
  async get(@Param('id', ParseUUIDPipe) id: string): Promise<JobWithEventsDto> {
    const { job, events } = await this.jobs.getWithEvents(id);
    return { ...toJobDto(job), events: events.map(toJobEventDto) };
  }

  @Post(':id/cancel')
  @HttpCode(202)
  @ApiAcceptedResponse({ type: JobDto })
  async cancel(@Param('id', ParseUUIDPipe) id: string, @CurrentActor() actor: Actor): Promise<JobDto> {
    return toJobDto(await this.jobs.cancel(id, actor));
  }
}

/** Jobs started on hosts that belong to no other feature: re-collecting their inventory. */
@ApiTags('jobs')
@Controller('api/hosts')
export class HostJobsController {
  constructor(private readonly jobs: JobsService) {}

  @Post(':id/inventory/refresh')
  @HttpCode(202)
  @ApiAcceptedResponse({ type: JobDto })
  async refreshInventory(@Param('id', ParseUUIDPipe) id: string, @CurrentActor() actor: Actor, @IdempotencyKey() key?: string): Promise<JobDto> {
    return toJobDto((await this.jobs.refreshInventory(id, actor, key)).job);
  }

  /** Fan-out: one inventory.refresh job per approved host, reported per id. */
  @Post('inventory/refresh')
  @AuditAction('host.inventory-refresh-many', 'host')
  @HttpCode(202)
  @ApiAcceptedResponse({ type: BulkJobsResultDto })
  refreshInventoryMany(@Body() body: JobHostIdsDto, @CurrentActor() actor: Actor, @IdempotencyKey() key?: string): Promise<BulkJobsResultDto> {
    return this.jobs.refreshInventoryMany(body.ids, actor, key);
  }
}
