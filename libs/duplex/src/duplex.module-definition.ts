import { ConfigurableModuleBuilder } from '@nestjs/common';
import type { DuplexOptions } from './duplex-options';

/** `DuplexModule.forRoot(options)` and `forRootAsync({ imports, useFactory, inject })`, global by default. */
export const {
  ConfigurableModuleClass: ConfigurableDuplexModule,
  MODULE_OPTIONS_TOKEN: DUPLEX_MODULE_OPTIONS,
  OPTIONS_TYPE: DUPLEX_OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE: DUPLEX_ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<DuplexOptions>({ moduleName: 'Duplex' })
  .setClassMethodName('forRoot')
  .setExtras({ isGlobal: true }, (definition, extras) => ({ ...definition, global: extras.isGlobal }))
  .build();
