/** Danish CVR numbers (the business register's company numbers): 8 digits with a modulus-11 check. */
import { CodedError } from '../../../protocol/coded-error.ts';

const WEIGHTS = [2, 7, 6, 5, 4, 3, 2, 1] as const;

/** The CVR number's 8 digits (surrounding spaces ignored), or NV_BAD_CVR. */
export function parseCvr(text: string): string {
  const cvr = text.trim();
  if (!/^[0-9]{8}$/.test(cvr)) throw new CodedError('NV_BAD_CVR', 'a CVR number is exactly 8 digits', 400);
  if (cvr.startsWith('0')) throw new CodedError('NV_BAD_CVR', 'a CVR number never starts with 0', 400);
  let sum = 0;
  WEIGHTS.forEach((weight, i) => {
    sum += weight * Number(cvr[i]);
  });
  if (sum % 11 !== 0) throw new CodedError('NV_BAD_CVR', 'this is not a valid CVR number: its check digit does not match (a typing error?)', 400);
  return cvr;
}
