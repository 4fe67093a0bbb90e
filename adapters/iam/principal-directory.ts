/**
 * The tags of the IAM principals that call the API with SigV4 (API Gateway's IAM authorizer gives
 * the caller's ARN, not its tags): `flotilla:tenant` and `flotilla:role` on the IAM role or user
 * say whose tenant it acts in and with which role (adapters/lambda/principal.ts).
 *
 * An assumed-role session (`arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION`, what the CLI has
 * under SSO, OIDC from CI or an instance profile) is its role's; an IAM user is itself. Anything
 * else (a root user, a federated user) has no tags to read and gets none — refused upstream with
 * the tags it needs. Tags are kept a few minutes per ARN, so a busy caller costs one IAM read per
 * function instance and a retagged role takes effect within that time.
 */
import {
  IAMClient,
  ListRoleTagsCommand,
  type ListRoleTagsCommandOutput,
  ListUserTagsCommand,
  type ListUserTagsCommandOutput,
} from '@aws-sdk/client-iam';
import type { Clock, PrincipalDirectory } from '../../domain/ports.ts';

/** The IAM calls this adapter makes (the SDK client, or a recording fake, behind it). */
export interface IamTagsApi {
  listRoleTags(input: { RoleName: string; Marker?: string }): Promise<ListRoleTagsCommandOutput>;
  listUserTags(input: { UserName: string; Marker?: string }): Promise<ListUserTagsCommandOutput>;
}

export function iamTagsApi(client: IAMClient): IamTagsApi {
  return {
    listRoleTags: (input) => client.send(new ListRoleTagsCommand(input)),
    listUserTags: (input) => client.send(new ListUserTagsCommand(input)),
  };
}

/** What an ARN names, as far as tags go. */
export type IamSubject =
  | { readonly kind: 'role'; readonly name: string }
  | { readonly kind: 'user'; readonly name: string }
  | { readonly kind: 'none' };

/**
 * The role or user behind a caller ARN. A role's path is not part of its name (`role/team/x` is
 * role `x`), and neither is an assumed-role session's name.
 */
export function subjectOf(arn: string): IamSubject {
  const m = /^arn:aws[a-z-]*:(iam|sts)::\d{12}:(.+)$/.exec(arn);
  if (!m) return { kind: 'none' };
  const [service, resource] = [m[1], m[2] ?? ''];
  if (service === 'sts') {
    const assumed = /^assumed-role\/([\w+=,.@-]{1,64})\/[\w+=,.@-]+$/.exec(resource);
    return assumed?.[1] ? { kind: 'role', name: assumed[1] } : { kind: 'none' };
  }
  const role = /^role\/(?:[\w+=,.@/-]*\/)?([\w+=,.@-]{1,64})$/.exec(resource);
  if (role?.[1]) return { kind: 'role', name: role[1] };
  const user = /^user\/(?:[\w+=,.@/-]*\/)?([\w+=,.@-]{1,64})$/.exec(resource);
  if (user?.[1]) return { kind: 'user', name: user[1] };
  return { kind: 'none' };
}

export interface IamPrincipalDirectoryOptions {
  readonly api: IamTagsApi;
  readonly clock: Clock;
  /** How long tags are kept per ARN. @default 300_000 (5 minutes) */
  readonly ttlMs?: number;
}

/** PrincipalDirectory over IAM's ListRoleTags/ListUserTags, cached per ARN. */
export class IamPrincipalDirectory implements PrincipalDirectory {
  readonly #api: IamTagsApi;
  readonly #clock: Clock;
  readonly #ttlMs: number;
  readonly #cache = new Map<string, { at: number; tags: Promise<Record<string, string>> }>();

  constructor(options: IamPrincipalDirectoryOptions) {
    this.#api = options.api;
    this.#clock = options.clock;
    this.#ttlMs = options.ttlMs ?? 300_000;
  }

  tagsOf(arn: string): Promise<Readonly<Record<string, string>>> {
    const now = this.#clock.now().getTime();
    const kept = this.#cache.get(arn);
    if (kept && now - kept.at < this.#ttlMs) return kept.tags;
    const tags = this.#read(subjectOf(arn));
    this.#cache.set(arn, { at: now, tags });
    // A failed read is not kept: the next request asks IAM again.
    tags.catch(() => this.#cache.delete(arn));
    // Bounded: a function instance sees few callers; drop the oldest past a thousand.
    if (this.#cache.size > 1000) this.#cache.delete(this.#cache.keys().next().value as string);
    return tags;
  }

  async #read(subject: IamSubject): Promise<Record<string, string>> {
    if (subject.kind === 'none') return {};
    const tags: Record<string, string> = {};
    let marker: string | undefined;
    do {
      const page =
        subject.kind === 'role'
          ? await this.#api.listRoleTags({ RoleName: subject.name, ...(marker ? { Marker: marker } : {}) })
          : await this.#api.listUserTags({ UserName: subject.name, ...(marker ? { Marker: marker } : {}) });
      for (const tag of page.Tags ?? []) if (tag.Key) tags[tag.Key] = tag.Value ?? '';
      marker = page.IsTruncated ? page.Marker : undefined;
    } while (marker);
    return tags;
  }
}

/** The directory of the account's IAM principals (IAM is global: one endpoint for every region). */
export function createIamPrincipalDirectory(options: { clock: Clock }): IamPrincipalDirectory {
  return new IamPrincipalDirectory({ api: iamTagsApi(new IAMClient({})), clock: options.clock });
}
