/**
 * Read-modify-write against conditional writes: when someone else wrote first
 * (VersionConflictError), read again and reapply the change.
 */
/**
 * Run `attempt` (which must read fresh state each time) until it does not lose a race, at most
 * `times` times; the last VersionConflictError is rethrown (the workflow's Retry takes over).
 */
export async function retryOnConflict<T>(attempt: () => Promise<T>, times = 5): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await attempt();
    } catch (error) {
      // By name, as Step Functions matches it: adapters may rebuild errors at their boundary.
      if (!(error instanceof Error && error.name === 'VersionConflictError') || i >= times) throw error;
    }
  }
}
