import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DistributionsController } from './distributions.controller';
import { DistributionEntity } from './distributions.entity';
import { DistributionsRepository } from './distributions.repository';
import { DistributionsService } from './distributions.service';

@Module({
  imports: [TypeOrmModule.forFeature([DistributionEntity])],
  controllers: [DistributionsController],
  providers: [DistributionsRepository, DistributionsService],
  exports: [DistributionsService],
})
export class DistributionsModule {}
