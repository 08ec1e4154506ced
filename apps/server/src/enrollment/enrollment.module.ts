import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { HostsModule } from '../hosts/hosts.module';
import { EnrollmentController } from './enrollment.controller';
import { EnrollmentTokenEntity } from './enrollment.entity';
import { EnrollmentTokensRepository } from './enrollment.repository';
import { EnrollmentService } from './enrollment.service';

@Module({
  imports: [TypeOrmModule.forFeature([EnrollmentTokenEntity]), HostsModule],
  controllers: [EnrollmentController],
  providers: [EnrollmentTokensRepository, EnrollmentService],
  exports: [EnrollmentService],
})
export class EnrollmentModule {}
