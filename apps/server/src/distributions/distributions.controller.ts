import { Body, Controller, Delete, Get, HttpCode, Param, ParseUUIDPipe, Patch, Post, Query } from '@nestjs/common';
import { ApiCreatedResponse, ApiNoContentResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { AuditAction } from '../audit/audit.http';
import { MinRole } from '../auth/auth.decorators';
import { CreateDistributionDto, DistributionDto, ListDistributionsQueryDto, toDistributionDto, UpdateDistributionDto } from './distributions.dto';
import { DistributionsService } from './distributions.service';

@ApiTags('distributions')
@Controller('api/distributions')
export class DistributionsController {
  constructor(private readonly distributions: DistributionsService) {}

  @Get()
  @ApiOkResponse({ type: DistributionDto, isArray: true })
  async list(@Query() q: ListDistributionsQueryDto): Promise<DistributionDto[]> {
    return (await this.distributions.list(q)).map(toDistributionDto);
  }

  @Get(':id')
  @ApiOkResponse({ type: DistributionDto })
  async get(@Param('id', ParseUUIDPipe) id: string): Promise<DistributionDto> {
    return toDistributionDto(await this.distributions.get(id));
  }

  @Post()
  @MinRole('admin')
  @AuditAction('distribution.create', 'distribution')
  @ApiCreatedResponse({ type: DistributionDto })
  async create(@Body() dto: CreateDistributionDto): Promise<DistributionDto> {
    return toDistributionDto(await this.distributions.create(dto));
  }

  @Patch(':id')
  @MinRole('admin')
  @AuditAction('distribution.update', 'distribution')
  @ApiOkResponse({ type: DistributionDto })
  async update(@Param('id', ParseUUIDPipe) id: string, @Body() dto: UpdateDistributionDto): Promise<DistributionDto> {
    return toDistributionDto(await this.distributions.update(id, dto));
  }

  @Post(':id/enable')
  @HttpCode(200)
  @MinRole('admin')
  @AuditAction('distribution.enable', 'distribution')
  @ApiOkResponse({ type: DistributionDto })
  async enable(@Param('id', ParseUUIDPipe) id: string): Promise<DistributionDto> {
    return toDistributionDto(await this.distributions.setEnabled(id, true));
  }

  @Post(':id/disable')
  @HttpCode(200)
  @MinRole('admin')
  @AuditAction('distribution.disable', 'distribution')
  @ApiOkResponse({ type: DistributionDto })
  async disable(@Param('id', ParseUUIDPipe) id: string): Promise<DistributionDto> {
    return toDistributionDto(await this.distributions.setEnabled(id, false));
  }

  @Delete(':id')
  @HttpCode(204)
  @MinRole('admin')
  @AuditAction('distribution.delete', 'distribution')
  @ApiNoContentResponse()
  async remove(@Param('id', ParseUUIDPipe) id: string): Promise<void> {
    await this.distributions.remove(id);
  }
}
