// Stream entry ids (`<ms>-<seq>`): their time, and their order.
export const idTime = (id: string): number => Number(id.split('-')[0]);

export function compareIds(a: string, b: string): number {
  const [am, as] = a.split('-').map(Number);
  const [bm, bs] = b.split('-').map(Number);
  return am - bm || as - bs;
}
