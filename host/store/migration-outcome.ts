/**
 * What bringing one owner's tables up to date did, as `store migrate` reports it: the schema
 * version found and the one kept now (the same when there was nothing to do). Each database object
 * keeps those of its migrations since it was opened, in the order they ran.
 */
export interface MigrationOutcome {
  readonly owner: string;
  readonly from: number;
  readonly to: number;
}
