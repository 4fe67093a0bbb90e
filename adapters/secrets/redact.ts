/**
 * Redaction of anything that looks like a credential, applied to every log line the Lambda
 * handlers write and to every event detail before it leaves for EventBridge. It is a safety net
 * under the real rule (secrets are never put there in the first place): bearer tokens, EKS
 * `k8s-aws-v1.` tokens, JWTs (service-account tokens), presigned-URL signatures, private keys,
 * kubeconfig documents, the data of Kubernetes Secret objects, and the values of fields whose
 * name says they are secret.
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

/** A Kubernetes Secret object (the connector's activation, say) with its values hidden. */
function redactSecretObject(value: Record<string, unknown>): Record<string, unknown> {
  const hide = (data: unknown) =>
    typeof data === 'object' && data !== null
      ? Object.fromEntries(Object.keys(data).map((k) => [k, REDACTED]))
      : data;
  return {
    ...value,
    ...('data' in value ? { data: hide(value.data) } : {}),
    ...('stringData' in value ? { stringData: hide(value.stringData) } : {}),
  };
}

function isSecretObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const v = value as Record<string, unknown>;
  return v.kind === 'Secret' && ('data' in v || 'stringData' in v);
}

/**
 * The value of field `key`, redacted: secret-named fields wholesale, Secret objects' data,
 * strings by pattern. Objects otherwise come back as they are (a JSON replacer then visits their
 * fields one by one).
 */
export function redactField(key: string, value: unknown): unknown {
  if (key && SECRET_KEYS.test(key) && value !== undefined && value !== null && value !== '') return REDACTED;
  if (isSecretObject(value)) return redactSecretObject(value);
  return typeof value === 'string' ? redactText(value) : value;
}

/** A deep copy of `value` with every credential hidden (cycles are cut). */
export function redactValue(value: unknown, key = '', seen = new WeakSet<object>()): unknown {
  const shallow = redactField(key, value);
  if (typeof shallow !== 'object' || shallow === null) return shallow;
  if (seen.has(shallow)) return '[Circular]';
  seen.add(shallow);
  if (Array.isArray(shallow)) return shallow.map((item) => redactValue(item, '', seen));
  if (shallow instanceof Error) return { name: shallow.name, message: redactText(shallow.message) };
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(shallow)) out[k] = redactValue(v, k, seen);
  return out;
}
