/** The dictionaries the connector returns, with the spec's keys. */

export interface MasterDict {
  id: number;
  name: string;
  active: boolean;
  last_active: Date;
}

export interface BrDict {
  brid: number;
  buildsetid: number;
  buildername: string;
  priority: number;
  claimed: boolean;
  claimed_at: Date | null;
  mine: boolean;
  complete: boolean;
  complete_at: Date | null;
  results: number;
  submitted_at: Date;
}

export interface BsDict {
  bsid: number;
  external_idstring: string | null;
  reason: string;
  sourcestampsetid: number;
  submitted_at: Date;
  complete: boolean;
  complete_at: Date | null;
  results: number;
}

export interface SsDict {
  ssid: number;
  sourcestampsetid: number;
  branch: string | null;
  revision: string | null;
  patch_body: string | Uint8Array | null;
  patch_level: number | null;
  patch_author: string | null;
  patch_comment: string | null;
  patch_subdir: string | null;
  repository: string;
  project: string;
  codebase: string;
  changeids: number[];
}

export interface ChangeSourceDict {
  id: number;
  name: string;
  masterid: number | null;
}

/** Buildbot properties: name -> [value, source]. */
export type Properties = Record<string, [unknown, string]>;

export interface BDict {
  bid: number;
  number: number;
  brid: number;
  start_time: Date;
  finish_time: Date | null;
}

export interface ChDict {
  changeid: number;
  author: string | null;
  files: string[];
  comments: string | null;
  is_dir: number;
  links: string[];
  revision: string | null;
  when_timestamp: Date;
  branch: string | null;
  category: string | null;
  revlink: string | null;
  properties: Properties;
  repository: string;
  codebase: string;
  project: string;
}

/** A user: uid, identifier, credentials, and each attribute keyed by its type. */
export interface UsDict {
  uid: number;
  identifier: string;
  bb_username: string | null;
  bb_password: string | null;
  [attr_type: string]: string | number | null;
}

/** A user as getUsers() lists it: Buildbot 0.8.8's rows, with no user name or password hash. */
export interface UserSummary {
  uid: number;
  identifier: string;
}
