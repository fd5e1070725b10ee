import { Module } from '@nestjs/common';

/** Composition root of the reference chat server. */
@Module({})
export class AppModule {}
