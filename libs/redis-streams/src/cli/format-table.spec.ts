import { formatDuration, formatTable } from './format-table.js';

describe('formatTable', () => {
  it('aligns columns under their header, two spaces apart, without trailing spaces', () => {
    const table = formatTable(
      ['STREAM', 'PENDING'],
      [
        ['Email', 3],
        ['Notifications', 120],
      ],
    );
    expect(table.split('\n')).toEqual(['STREAM         PENDING', 'Email          3', 'Notifications  120']);
  });

  it('prints the header alone when there are no rows', () => {
    expect(formatTable(['A', 'B'], [])).toBe('A  B');
  });
});

describe('formatDuration', () => {
  it.each([
    [0, '0ms'],
    [850, '850ms'],
    [12_500, '12.5s'],
    [200_000, '3m20s'],
    [7_500_000, '2h05m'],
    [273_600_000, '3d4h'],
  ])('reads %i ms as %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });
});
