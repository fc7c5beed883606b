/** `resetGroup` was refused: consumers of the group still hold entries they haven't acknowledged. */
export class GroupHasPendingError extends Error {
  override readonly name = 'GroupHasPendingError';

  constructor(
    readonly stream: string,
    readonly group: string,
    readonly pending: number,
    readonly consumers: { name: string; pending: number }[],
  ) {
    super(
      `Consumer group "${group}" of stream "${stream}" has ${pending} pending entries ` +
        `(${consumers.map((c) => `${c.name}: ${c.pending}`).join(', ')}). Moving it now would leave them pending with ` +
        'those consumers while the group reads from its new position. Stop the consumers and let them finish, or ' +
        'pass `force: true` (CLI: --force) to move it anyway: a pending entry it moves back over is delivered ' +
        'again, to whichever consumer reads next (see resetGroup).',
    );
  }
}
