/**
 * Redaction of anything that looks like a credential, applied to every log line the Lambda
 * handlers write and to every event detail before it leaves for EventBridge. It is a safety net
 * under the real rule (secrets are never put there in the first place): bearer tokens, EKS
 * `k8s-aws-v1.` tokens, JWTs (service-account tokens), presigned-URL signatures, private keys,
 * kubeconfig documents, and the values of fields whose name says they are secret.
 */

export const REDACTED = '[REDACTED]';

/** Field names whose values are always hidden, whatever they look like. */
const SECRET_KEYS =
  /^(token|bearertoken|accesstoken|idtoken|refreshtoken|sessiontoken|tasktoken|authorization|password|passwd|secret|secretstring|secretbinary|secretaccesskey|kubeconfig|activationcode|clientkeydata|client-key-data|x-amz-security-token|x-amz-signature)$/i;

const PATTERNS: ReadonlyArray<[RegExp, string]> = [
  [
    /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(-----END [A-Z ]*PRIVATE KEY-----|$)/g,
    `${REDACTED} private key`,
  ],
  [/k8s-aws-v1\.[A-Za-z0-9_-]+/g, `k8s-aws-v1.${REDACTED}`],
  [/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/gi, `$1 ${REDACTED}`],
  [/\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*/g, `${REDACTED} jwt`],
  [/(X-Amz-(?:Signature|Security-Token|Credential)=)[^&\s"']+/gi, `$1${REDACTED}`],
  // `token: abc`, `"client-key-data": "…"`, `password=…` inside free text or YAML.
  [
    /((?:^|[\s{,"'])(?:token|client-key-data|client-certificate-data|password|activationCode|secret-access-key)["']?\s*[:=]\s*["']?)[^\s"',}]+/gim,
    `$1${REDACTED}`,
  ],
];

/** Does `text` look like a kubeconfig document (or a fragment with credentials of one)? */
export function looksLikeKubeconfig(text: string): boolean {
  if (/\bkind:\s*["']?Config\b/.test(text) && /\b(clusters|users|contexts):/.test(text)) return true;
  return /\busers:\s*\n/.test(text) && /\b(client-key-data|token|client-certificate-data):/.test(text);
}

/** Hide credentials inside one string. */
export function redactText(text: string): string {
  if (text.length > 20 && looksLikeKubeconfig(text)) return `${REDACTED} kubeconfig`;
  let out = text;
  for (const [pattern, replacement] of PATTERNS) out = out.replace(pattern, replacement);
  return out;
}

/** The value of field `key`, redacted: secret-named fields wholesale, strings by pattern. */
export function redactField(key: string, value: unknown): unknown {
  if (key && SECRET_KEYS.test(key) && value !== undefined && value !== null && value !== '') return REDACTED;
  return typeof value === 'string' ? redactText(value) : value;
}

/** A deep copy of `value` with every credential hidden (cycles are cut). */
export function redactValue(value: unknown, key = '', seen = new WeakSet<object>()): unknown {
  const shallow = redactField(key, value);
  if (shallow !== value || typeof value !== 'object' || value === null) return shallow;
  if (seen.has(value)) return '[Circular]';
  seen.add(value);
  if (Array.isArray(value)) return value.map((item) => redactValue(item, '', seen));
  if (value instanceof Error) {
    return { name: value.name, message: redactText(value.message) };
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = redactValue(v, k, seen);
  return out;
}
