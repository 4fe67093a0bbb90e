/** For asserting on an error's class, name and fields, not only on its message. */

/** The error a promise rejects with; throws when it resolves or rejects with a non-error. */
export async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof Error) return error;
    throw new Error(`rejected with a non-error: ${String(error)}`);
  }
  throw new Error('expected a rejection');
}
