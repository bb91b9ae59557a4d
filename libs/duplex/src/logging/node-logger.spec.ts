import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { NodeLogger } from './node-logger';

describe('NodeLogger', () => {
  afterEach(() => {
    jest.restoreAllMocks();
  });

  it('adds the node id to every JSON line', () => {
    const write = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
    NodeLogger.fromEnv('node-7', { LOG_FORMAT: 'json' }).log('hello', 'Test');
    const line = JSON.parse(String(write.mock.calls[0][0]));
    expect(line).toMatchObject({ level: 'log', message: 'hello', context: 'Test', node: 'node-7' });
  });

  it('prints nothing below LOG_LEVEL', () => {
    const write = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const logger = NodeLogger.fromEnv('node-7', { LOG_FORMAT: 'json', LOG_LEVEL: 'warn' });
    logger.log('quiet');
    expect(write).not.toHaveBeenCalled();
  });
});
