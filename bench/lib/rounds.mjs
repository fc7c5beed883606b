// Runs the sides of a comparison in the same run, round after round, alternating their order between rounds (so a
// machine getting busier or quieter weighs on both), and takes medians over the rounds.
import { fmtRate, median } from './stats.mjs';

const log = (line) => process.stdout.write(`${line}\n`);

/** Runs `steps` (name → async fn returning { rate, cpuUs?, redisCpuUs? }) in each round; returns the rounds. */
export async function interleave(label, roundsCount, steps) {
  const rounds = [];
  const names = Object.keys(steps);
  for (let r = 0; r < roundsCount; r++) {
    const order = r % 2 === 0 ? names : [...names].reverse();
    const round = {};
    for (const name of order) {
      round[name] = await steps[name]();
      const value = round[name];
      const cpu =
        value.cpuUs === undefined
          ? ''
          : ` (CPU per entry: our side ${value.cpuUs.toFixed(1)} µs, Redis ${value.redisCpuUs.toFixed(1)} µs)`;
      log(
        `  ${label} round ${r + 1}/${roundsCount} ${name}: ${value.rate ? fmtRate(value.rate) + cpu : JSON.stringify(value)}`,
      );
    }
    rounds.push(round);
  }
  return rounds;
}

export const medianOf = (rounds, pick) => median(rounds.map(pick));
