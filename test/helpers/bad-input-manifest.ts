/** The manifest scripts/make-bad-inputs.mjs writes beside its corpus: one entry per input with its expected outcome. */

/** What import should do with an input. */
export type Outcome = 'imported' | 'failed' | 'skipped';

/** One line of the manifest. */
export interface ManifestEntry {
  path: string;
  description: string;
  expected: Outcome;
  /** Case-insensitive regular expression the reason must match, for `failed`. */
  reason?: string;
  /** The outcome for root, who reads files and folders whatever their permissions. */
  expectedAsRoot?: Outcome;
  width?: number;
  height?: number;
  sameContentAs?: string;
  mode?: number;
}
