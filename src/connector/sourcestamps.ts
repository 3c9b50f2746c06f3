// sourcestamps: spec buildbot-database.md, "sourcestamps" (0.8.8, with codebase).
import { InvalidArgumentError } from '../errors.ts';
import { idsUnder, readRecord, readRecords, requireRecord } from '../persistence/records.ts';
import type { Reader } from '../persistence/records.ts';
import type { SsDict } from '../types.ts';
import * as v from '../validate.ts';
import { breathe, due } from '../breathe.ts';
import type { Core } from './core.ts';
import { buildsets, changes, sourceStampIndex, sourceStamps, sourceStampSets } from './model.ts';
import type { PatchRecord, SourceStampRecord } from './model.ts';

export interface AddSourceStampArgs {
  branch: string | null;
  revision: string | null;
  repository: string;
  project: string;
  sourcestampsetid: number;
  codebase?: string;
  patch_body?: string | Uint8Array | null;
  patch_level?: number | null;
  patch_author?: string | null;
  patch_comment?: string | null;
  patch_subdir?: string | null;
  changeids?: number[];
}

const REQUIRED = ['branch', 'revision', 'repository', 'project', 'sourcestampsetid'] as const;
const KNOWN = [...REQUIRED, 'codebase', 'patch_body', 'patch_level', 'patch_author', 'patch_comment', 'patch_subdir', 'changeids'] as const;

export class SourceStampsComponent {
  constructor(private readonly core: Core) {}

  /** Adds a source stamp to an existing set; resolves to its ssid. */
  async addSourceStamp(args: AddSourceStampArgs): Promise<number> {
    const a = v.keywords(args, 'addSourceStamp arguments', KNOWN, ['repository', 'project', 'sourcestampsetid']);
    for (const key of REQUIRED) if (!(key in a)) throw new InvalidArgumentError(`addSourceStamp arguments needs ${key}`);
    const stamp = {
      sourcestampsetid: v.id(a.sourcestampsetid, 'sourcestampsetid'),
      branch: v.nullableString(a.branch, 'branch'),
      revision: v.nullableString(a.revision, 'revision'),
      repository: v.string(a.repository, 'repository'),
      project: v.string(a.project, 'project'),
      codebase: v.given(a, 'codebase', '', v.string),
      patch: parsePatch(a),
      changeids: a.changeids === undefined ? [] : [...new Set(v.ids(a.changeids, 'changeids'))].sort((x, y) => x - y),
    };
    return this.core.runner.run(async (tx) => {
      await requireRecord(tx, sourceStampSets, stamp.sourcestampsetid, 'sourcestampset');
      for (const [i, changeid] of stamp.changeids.entries()) {
        if (due(i)) await breathe();
        await requireRecord(tx, changes, changeid, 'change');
      }
      const ssid = await tx.allocateId(sourceStamps.name);
      tx.putRecord(sourceStamps, ssid, { ssid, ...stamp });
      return ssid;
    });
  }

  async getSourceStamp(ssid: number): Promise<SsDict | null> {
    v.id(ssid, 'ssid');
    const stamp = await readRecord(this.core.reader, sourceStamps, ssid);
    return stamp === undefined ? null : ssdict(stamp);
  }

  async getSourceStamps(sourcestampsetid: number): Promise<SsDict[]> {
    v.id(sourcestampsetid, 'sourcestampsetid');
    return (await stampsOfSet(this.core.reader, sourcestampsetid)).map(ssdict);
  }
}

/** The patch, or null without a body; the other patch_* arguments are checked even then (Buildbot ignores them). */
function parsePatch(a: Record<string, unknown>): PatchRecord | null {
  const optional = (key: string, fallback: string | null, limit?: 'textLength') => v.given(a, key, fallback, (value, name) => v.nullableString(value, name, limit));
  const patch = {
    level: a.patch_level === undefined || a.patch_level === null ? 0 : v.integer(a.patch_level, 'patch_level'),
    author: optional('patch_author', ''),
    comment: optional('patch_comment', '', 'textLength'),
    subdir: optional('patch_subdir', null),
  };
  if (a.patch_body === undefined || a.patch_body === null) return null;
  const body = a.patch_body instanceof Uint8Array ? patchBytes(a.patch_body) : v.string(a.patch_body, 'patch_body', 'textLength');
  return { body, ...patch };
}

/** A copy of a binary patch body of at most LIMITS.textLength bytes. */
function patchBytes(body: Uint8Array): Uint8Array {
  v.atMost(body.byteLength, 'patch_body', 'textLength', 'bytes');
  return new Uint8Array(body);
}

export async function stampsOfSet(reader: Reader, sourcestampsetid: number): Promise<SourceStampRecord[]> {
  return readRecords(reader, sourceStamps, await idsUnder(reader, sourceStampIndex.set(sourcestampsetid)));
}

/** Whether a buildset has a source stamp on `branch` and `repository` (null: any). */
export async function matchesSourceStamps(reader: Reader, bsid: number, want: { branch: string | null; repository: string | null }): Promise<boolean> {
  const buildset = await readRecord(reader, buildsets, bsid);
  if (buildset === undefined) return false;
  const stamps = await stampsOfSet(reader, buildset.sourcestampsetid);
  return stamps.some((ss) => (want.branch === null || ss.branch === want.branch) && (want.repository === null || ss.repository === want.repository));
}

function ssdict(ss: SourceStampRecord): SsDict {
  const patch = ss.patch;
  return {
    ssid: ss.ssid,
    sourcestampsetid: ss.sourcestampsetid,
    branch: ss.branch,
    revision: ss.revision,
    patch_body: patch === null ? null : patch.body instanceof Uint8Array ? new Uint8Array(patch.body) : patch.body,
    patch_level: patch?.level ?? null,
    patch_author: patch?.author ?? null,
    patch_comment: patch?.comment ?? null,
    patch_subdir: patch?.subdir ?? null,
    repository: ss.repository,
    project: ss.project,
    codebase: ss.codebase,
    changeids: [...ss.changeids],
  };
}
