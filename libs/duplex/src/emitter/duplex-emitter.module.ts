import { ConfigurableModuleBuilder, type DynamicModule, Module } from '@nestjs/common';
import { DuplexClientProxy } from './duplex-client-proxy';
import { DuplexEmitter } from './duplex-emitter';
import type { DuplexEmitterOptions } from './emitter-options';

const { ConfigurableModuleClass, MODULE_OPTIONS_TOKEN, OPTIONS_TYPE, ASYNC_OPTIONS_TYPE } = new ConfigurableModuleBuilder<DuplexEmitterOptions>({
  moduleName: 'DuplexEmitter',
})
  .setClassMethodName('forRoot')
  .setExtras({ isGlobal: true }, (definition, extras) => ({ ...definition, global: extras.isGlobal }))
  .build();

/**
 * For a process that raises callbacks without being a node: works in
 * `NestFactory.createApplicationContext`, needs no HTTP server and no
 * DuplexModule. Provides DuplexEmitter (typed) and DuplexClientProxy (a Nest
 * ClientProxy), which connects at start-up and closes at shutdown.
 */
@Module({
  providers: [
    {
      provide: DuplexClientProxy,
      useFactory: async (options: DuplexEmitterOptions) => {
        const client = new DuplexClientProxy(options);
        await client.connect();
        return client;
      },
      inject: [MODULE_OPTIONS_TOKEN],
    },
    DuplexEmitter,
  ],
  exports: [DuplexClientProxy, DuplexEmitter],
})
export class DuplexEmitterModule extends ConfigurableModuleClass {
  /** Options in code; what is left out comes from the environment (AMQP_URL, AMQP_PREFIX, CALLBACK_TIMEOUT_MS). */
  static forRoot(options: typeof OPTIONS_TYPE = {}): DynamicModule {
    return super.forRoot(options);
  }

  static forRootAsync(options: typeof ASYNC_OPTIONS_TYPE): DynamicModule {
    return super.forRootAsync(options);
  }
}
