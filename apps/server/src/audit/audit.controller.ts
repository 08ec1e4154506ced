import { Controller, Get, Query } from '@nestjs/common';
import { ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { AuditPageDto, AuditQueryDto, toAuditEventDto } from './audit.dto';
import { AuditService } from './audit.service';

@ApiTags('audit')
@Controller('api/audit-events')
export class AuditController {
  constructor(private readonly audit: AuditService) {}

  /** Newest first. */
  @Get()
  @ApiOkResponse({ type: AuditPageDto })
  async search(@Query() q: AuditQueryDto): Promise<AuditPageDto> {
    const { items, total } = await this.audit.search(q);
    return { items: items.map(toAuditEventDto), total };
  }
}
