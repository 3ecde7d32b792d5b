/**
 * A user rule as loaded and checked (`--rules FILE|DIR`): the YAML of `schema/rules.schema.json`, with its
 * conditions compiled (regular expressions and wildcards built once, at load) and its place in its file.
 */
import type { Severity } from '../../model/types.js';
import type { FieldValue } from './fields.js';

export const OPERATORS = ['equals', 'contains', 'startswith', 'endswith', 'in', 'exists', 'glob', 'regex', 'lt', 'lte', 'gt', 'gte'] as const;
export type Operator = (typeof OPERATORS)[number];

/** One field tested with one operator. */
export interface Test {
  field: string;
  op: Operator;
  /** The operand as written (for explanations). */
  operand: FieldValue | FieldValue[];
  cased: boolean;
  /** Does one value of the field pass? (`exists` is decided on the whole field, not here.) */
  check: (v: FieldValue) => boolean;
}

export type Condition = { all: Condition[] } | { any: Condition[] } | { not: Condition } | { test: Test };

/** Where something is in a rules file (1-based). */
export interface Place {
  file: string;
  line: number;
  column: number;
}

export interface UserRule {
  /** The id as written; reasons carry {@link reasonId}. */
  id: string;
  /** `custom:<id>`. */
  reasonId: string;
  title: string;
  description?: string;
  attack: string[];
  match: Condition;
  reason?: { score: number; title?: string; attack?: string[]; evidence?: string };
  severity?: { min?: Severity; max?: Severity };
  suppress?: { justification: string };
  /** Where the rule starts. */
  at: Place;
}
