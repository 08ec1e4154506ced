import { Body, Controller, Delete, Get, Header, HttpCode, Param, ParseUUIDPipe, Post } from '@nestjs/common';
import { ApiCreatedResponse, ApiNoContentResponse, ApiOkResponse, ApiProduces, ApiTags } from '@nestjs/swagger';
import { AuditAction } from '../audit/audit.http';
import { Actor, CurrentActor } from '../auth/auth.decorators';
import { CreatedSshKeyDto, CreateSshKeyDto, SshKeyDto, toCreatedSshKeyDto, toSshKeyDto } from './ssh-keys.dto';
import { SshKeysService } from './ssh-keys.service';

@ApiTags('ssh-keys')
@Controller('api/ssh-keys')
export class SshKeysController {
  constructor(private readonly keys: SshKeysService) {}

  @Post()
  @Header('Cache-Control', 'no-store')
  @AuditAction('ssh-key.create', 'ssh-key')
  @ApiCreatedResponse({ type: CreatedSshKeyDto })
  async create(@Body() dto: CreateSshKeyDto, @CurrentActor() actor: Actor): Promise<CreatedSshKeyDto> {
    const { key, privateKey } = await this.keys.create(dto, actor);
    return toCreatedSshKeyDto(key, privateKey);
  }

  @Get()
  @ApiOkResponse({ type: SshKeyDto, isArray: true })
  async list(): Promise<SshKeyDto[]> {
    return (await this.keys.list()).map(toSshKeyDto);
  }

  @Get(':id/public')
  @Header('Content-Type', 'text/plain; charset=utf-8')
  @ApiProduces('text/plain')
  @ApiOkResponse({ type: String })
  async publicKey(@Param('id', ParseUUIDPipe) id: string): Promise<string> {
    return `${(await this.keys.get(id)).publicKey}\n`;
  }

  @Delete(':id')
  @HttpCode(204)
  @AuditAction('ssh-key.delete', 'ssh-key')
  @ApiNoContentResponse()
  async remove(@Param('id', ParseUUIDPipe) id: string): Promise<void> {
    await this.keys.remove(id);
  }
}
