import { ConfigError, loadConfig } from './config/config.js';
import { startServer } from './server.js';

/** Entry point: read config, start, listen; stop gracefully on SIGTERM/SIGINT (exit code 0). */
async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  const running = await startServer(config);
  let signalled = false;
  const shutdown = (signal: string) => {
    if (signalled) return;
    signalled = true;
    running.logger.info('shutting down', { signal });
    running.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        running.logger.error('shutdown failed', { error: err instanceof Error ? err.name : 'unknown' });
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

main().catch((err: unknown) => {
  const message = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  process.stderr.write(`fhir-patient-server failed to start: ${message}\n`);
  process.exit(1);
});
