/**
 * What the parts of a claim cost on their own, on this machine: the floor
 * under the claim benchmark's in-memory figure. Each part runs on 50,000
 * build requests after a warm-up; medians of the rounds are printed.
 *
 *   node --import tsx bench/transitionCost.ts [--rounds N]
 */
import { createActor, transition } from 'xstate';
import type { AnyMachineSnapshot, AnyStateMachine, EventObject } from 'xstate';
import { adopt, adoptingLogic } from '../src/actors/adopt.ts';
import { firstSnapshot, nextSnapshot, persistedSnapshot } from '../src/actors/step.ts';
import { buildRequests } from '../src/connector/model.ts';
import { buildRequestMachine } from '../src/machines/buildRequest.ts';
import type { BuildRequestInput } from '../src/machines/buildRequest.ts';
import { encode } from '../src/persistence/codec.ts';

const i = process.argv.indexOf('--rounds');
const ROUNDS = i < 0 ? 5 : Number(process.argv[i + 1]);
const N = 50_000;
const machine: AnyStateMachine = buildRequestMachine;
const inputs: BuildRequestInput[] = Array.from({ length: N }, (_, n) => ({
  brid: n + 1,
  buildsetid: 1 + (n >> 4),
  buildername: `builder-${n % 16}`,
  priority: 0,
  submittedAt: 1.7e12,
}));
const claim = { type: 'request.claim', masterid: 1, at: 1.7e12 + 1000 } as EventObject;

const unclaimed = inputs.map((input) => firstSnapshot(machine, input));
const claimed = unclaimed.map((s) => nextSnapshot(machine, s, claim));
const records = unclaimed.map((s) => JSON.parse(JSON.stringify(persistedSnapshot(machine, s))));

/** Microseconds per item of `part` over the N requests, median of the rounds (a fresh setup each round). */
function measure<T>(setup: () => T, part: (state: T, n: number) => unknown): number {
  const times: number[] = [];
  for (let round = 0; round <= ROUNDS; round++) {
    const state = setup();
    const started = performance.now();
    for (let n = 0; n < N; n++) part(state, n);
    if (round > 0) times.push(((performance.now() - started) * 1000) / N); // round 0 warms up
  }
  return times.sort((a, b) => a - b)[Math.floor(times.length / 2)]!;
}

const live = () => records.map((snapshot) => createActor(adoptingLogic(machine), { snapshot }).start());
const rows: [string, number][] = [
  [
    "XState's transition(machine, snapshot, event)",
    measure(
      () => null,
      (_, n) => transition(machine, unclaimed[n]!, claim),
    ),
  ],
  [
    'machine.transition with one shared scope (step.ts)',
    measure(
      () => null,
      (_, n) => nextSnapshot(machine, unclaimed[n]!, claim),
    ),
  ],
  [
    'persisted record and index entries, old and new',
    measure(
      () => null,
      (_, n) => {
        buildRequests.indexes(unclaimed[n] as unknown as never);
        return buildRequests.indexes(persistedSnapshot(machine, claimed[n]!) as never);
      },
    ),
  ],
  [
    'msgpack encoding of the record',
    measure(
      () => null,
      (_, n) => encode(persistedSnapshot(machine, claimed[n]!)),
    ),
  ],
  ['a live actor adopting the decided snapshot (send)', measure(live, (actors, n) => adopt(claim, claimed[n] as AnyMachineSnapshot, () => actors[n]!.send(claim)))],
  [
    'rehydrating an actor from its record (create, start)',
    measure(
      () => null,
      (_, n) => createActor(adoptingLogic(machine), { snapshot: records[n] }).start(),
    ),
  ],
];
console.log(`the parts of a claim, one build request at a time, median of ${ROUNDS} rounds of ${N.toLocaleString('en')}:`);
for (const [name, us] of rows) console.log(`  ${name.padEnd(54)} ${us.toFixed(2).padStart(6)} us`);
