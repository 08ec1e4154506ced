import 'reflect-metadata';
export * from './version';
export * from './events';
export * from './validate';
export * from './identity';
export * from './messages';
export * from './commands';
export * from './event-maps';
