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
