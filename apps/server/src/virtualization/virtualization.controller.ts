import { Body, Controller, Get, HttpCode, Param, ParseUUIDPipe, Post } from '@nestjs/common';
import { ApiAcceptedResponse, ApiTags } from '@nestjs/swagger';
import { Actor, CurrentActor } from '../auth/auth.decorators';
import { IdempotencyKey } from '../jobs/idempotency-key.decorator';
import { JobDto, toJobDto } from '../jobs/jobs.dto';
import { ConfigureNetworkDto, HostTypeParamsDto } from './virtualization.dto';
import { VirtualizationService } from './virtualization.service';

@ApiTags('virtualization')
@Controller('api/hosts/:id/virtualization')
export class VirtualizationController {
  constructor(private readonly virtualization: VirtualizationService) {}

  @Get()
  get(@Param('id', ParseUUIDPipe) id: string) {
    return this.virtualization.get(id);
  }

  @Post('check')
  @HttpCode(202)
  @ApiAcceptedResponse({ type: JobDto })
  async check(@Param('id', ParseUUIDPipe) id: string, @CurrentActor() actor: Actor, @IdempotencyKey() key?: string): Promise<JobDto> {
    return toJobDto((await this.virtualization.check(id, actor, key)).job);
  }

  @Post(':type/initialize')
  @HttpCode(202)
  @ApiAcceptedResponse({ type: JobDto })
  async initialize(@Param() p: HostTypeParamsDto, @CurrentActor() actor: Actor, @IdempotencyKey() key?: string): Promise<JobDto> {
    return toJobDto((await this.virtualization.initialize(p.id, p.type, actor, key)).job);
  }

  @Post(':type/network')
  @HttpCode(202)
  @ApiAcceptedResponse({ type: JobDto })
  async network(@Param() p: HostTypeParamsDto, @Body() dto: ConfigureNetworkDto, @CurrentActor() actor: Actor, @IdempotencyKey() key?: string): Promise<JobDto> {
    return toJobDto((await this.virtualization.configureNetwork(p.id, p.type, dto, actor, key)).job);
  }
}
