/**
 * Imported first by the local runtime, for its side effect. Powertools' Tracer loads the X-Ray
 * SDK, which on import starts in "automatic mode": an async hook that tracks the destruction of
 * every promise in the process, making each `await` several times dearer (the deploy bench
 * measured a tenfold cost on a bare promise). Nothing is traced outside Lambda (the Tracer is
 * inactive there), so outside Lambda the SDK is asked to start in manual mode, which installs no
 * hook. It only helps when this module is evaluated before the SDK is (the import must come
 * before anything that imports the handlers); an explicit AWS_XRAY_MANUAL_MODE is left alone.
 */
if (process.env.AWS_LAMBDA_FUNCTION_NAME === undefined && process.env.AWS_XRAY_MANUAL_MODE === undefined) {
  process.env.AWS_XRAY_MANUAL_MODE = 'true';
}
