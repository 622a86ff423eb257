/**
 * Runtime assertions for the SaleItem object (docs/design.md, "SaleItem invariants"). Each invariant is
 * checked where the code that could break it runs — after loading, after a reservation, after a round is
 * written or rolled back, after an order changes status — and a violation fails loudly: one `invariant
 * violated` log line with the figures, then a thrown `InvariantViolation`, so the request (or round) that broke
 * it fails instead of carrying on with a wrong count.
 */
export class InvariantViolation extends Error {
  constructor(
    readonly invariant: string,
    readonly details: Record<string, unknown>,
  ) {
    super(`invariant violated: ${invariant} ${JSON.stringify(details)}`);
    this.name = "InvariantViolation";
  }
}

export function invariant(holds: boolean, name: string, details: () => Record<string, unknown>): asserts holds {
  if (holds) return;
  const figures = details();
  console.error(JSON.stringify({ msg: "invariant violated", invariant: name, ...figures }));
  throw new InvariantViolation(name, figures);
}
