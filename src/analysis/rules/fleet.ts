/**
 * Fleet rules: where a subscription stands across a fleet (stack.ts counts it by distinct host). Rare ones are
 * worth a look first; common ones are marked, never allow-listed automatically.
 */
import type { Rule } from './rule.js';

/** Fewest hosts for counts to mean anything: below this, stacks are counted but nothing is ranked. */
export const FLEET_MIN_HOSTS = 10;
/** Rare: on at most this share of the fleet (and at least on one host). */
const RARE_SHARE = 0.05;
/** Common: on more than this share of the fleet. */
const COMMON_SHARE = 0.5;
/** Points a rare entry adds to its finding's score. */
const RARE_SCORE = 15;

/** Is a subscription on `count` distinct hosts of a fleet of `fleet` rare, common, or neither? */
export function fleetRank(count: number, fleet: number): { rare: boolean; common: boolean } {
  const ranked = fleet >= FLEET_MIN_HOSTS;
  const rareMax = Math.max(1, Math.floor(fleet * RARE_SHARE));
  return { rare: ranked && count <= rareMax, common: ranked && count > fleet * COMMON_SHARE };
}

/** A subscription's place in the fleet, as stacking counted it. */
export interface FleetContext {
  /** Distinct hosts it is on, and their names (sorted). */
  count: number;
  hosts: readonly string[];
  /** Hosts in the fleet. */
  fleet: number;
  rare: boolean;
  common: boolean;
  /** The finding is allow-listed: a fleet reason adds no points to it. */
  allowlisted: boolean;
}

export const FLEET_RULES: ReadonlyArray<Rule<FleetContext>> = [
  {
    id: 'WMI-STACK-RARE',
    title: `Rare across the fleet: on at most ${RARE_SHARE * 100} % of its hosts, or on one (a fleet of ${FLEET_MIN_HOSTS} hosts or more)`,
    attack: ['T1546.003'],
    score: RARE_SCORE,
    theme: 'fleet',
    check: ({ rare, count, fleet, hosts, allowlisted }) =>
      rare ? { title: `rare across the fleet: on ${count} of ${fleet} hosts`, evidence: hosts.join(', '), ...(allowlisted ? { score: 0 } : {}) } : null,
  },
  {
    id: 'WMI-STACK-COMMON',
    title: `Common across the fleet: on more than ${COMMON_SHARE * 100} % of the hosts (a fleet of ${FLEET_MIN_HOSTS} hosts or more; deployed software or a fleet-wide compromise, not allow-listed automatically)`,
    attack: [],
    score: 0,
    theme: 'fleet',
    check: ({ rare, common, count, fleet }) =>
      !rare && common ? { title: `common across the fleet: on ${count} of ${fleet} hosts (deployed software or a fleet-wide compromise; not allow-listed automatically)`, evidence: `${count}/${fleet} hosts` } : null,
  },
];
